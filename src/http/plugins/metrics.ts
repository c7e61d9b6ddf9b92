// GET /metrics in Prometheus text, request durations, and OAuth error counts.
import fp from "fastify-plugin";
import type { PrometheusMetrics } from "../metrics.js";

declare module "fastify" {
  interface FastifyInstance {
    /** null with METRICS=off */
    metrics: PrometheusMetrics | null;
  }
}

export default fp<{ metrics: PrometheusMetrics }>(
  async (app, { metrics }) => {
    app.addHook("onResponse", (request, reply, done) => {
      // The route pattern, not the URL: unknown paths must not grow the label set without bound.
      metrics.requestFinished(request.method, request.routeOptions.url ?? "unmatched", reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
    app.get("/metrics", async (_request, reply) =>
      reply.header("cache-control", "no-store").type(metrics.registry.contentType).send(await metrics.registry.metrics()),
    );
  },
  { name: "metrics" },
);
