// GET /metrics in Prometheus text, request durations, and OAuth error counts.
import type { onResponseHookHandler } from "fastify";
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
    // Each route gets its own timing hook, with its method and pattern bound once: reading
    // request.routeOptions builds a fresh object on every call. Labels are route patterns, never
    // URLs, so unknown paths (answered by the not-found handler, not timed) cannot grow the label set.
    app.addHook("onRoute", (route) => {
      const timer = metrics.routeTimer([route.method].flat().join(","), route.url);
      const timing: onResponseHookHandler = (_request, reply, done) => {
        timer(reply.statusCode, reply.elapsedTime / 1000);
        done();
      };
      route.onResponse = [route.onResponse ?? []].flat().concat(timing);
    });
    app.get("/metrics", async (_request, reply) =>
      reply.header("cache-control", "no-store").type(metrics.registry.contentType).send(await metrics.registry.metrics()),
    );
  },
  { name: "metrics" },
);
