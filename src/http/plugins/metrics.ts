// GET /metrics in Prometheus text, request durations, and OAuth error counts.
import type { onSendHookHandler } from "fastify";
import fp from "fastify-plugin";
import type { PrometheusMetrics } from "../metrics.js";

declare module "fastify" {
  interface FastifyInstance {
    /** null with METRICS=off */
    metrics: PrometheusMetrics | null;
  }
  interface FastifyContextConfig {
    /** false: the route is not timed (see STATIC_DOCUMENT) */
    timed?: boolean;
  }
  interface FastifyRequest {
    /** performance.now() when the request-start hook saw the request, for the duration histogram */
    receivedAt: number;
  }
}

/**
 * Route config of the documents served from memory (JWKS, metadata, liveness). Their answer takes the
 * same few microseconds every time, so a duration histogram would say nothing, and timing them (two
 * hooks, two clock reads) was ~5% of the JWKS route's throughput (bench/run.mjs, METRICS on against off).
 */
export const STATIC_DOCUMENT = { timed: false } as const;

export default fp<{ metrics: PrometheusMetrics }>(
  async (app, { metrics }) => {
    // Set by the request-start hook (request-start.ts), the first hook of every request.
    app.decorateRequest("receivedAt", 0);
    // Each route gets its own stop hook, with its method and pattern bound once: reading
    // request.routeOptions builds a fresh object on every call. Labels are route patterns, never
    // URLs, so unknown paths (answered by the not-found handler, not timed) cannot grow the label set.
    // The duration ends when the answer is handed to the socket (onSend): an onResponse hook would
    // cost two 'finish'/'error' listeners on every response.
    app.addHook("onRoute", (route) => {
      if (route.config?.timed === false) return;
      const timer = metrics.routeTimer([route.method].flat().join(","), route.url);
      const stop: onSendHookHandler = (request, reply, payload, done) => {
        timer(reply.statusCode, (performance.now() - request.receivedAt) / 1000);
        done(null, payload);
      };
      route.onSend = [...[route.onSend ?? []].flat(), stop];
    });
    app.get("/metrics", async (_request, reply) =>
      reply.header("cache-control", "no-store").type(metrics.registry.contentType).send(await metrics.registry.metrics()),
    );
  },
  { name: "metrics" },
);
