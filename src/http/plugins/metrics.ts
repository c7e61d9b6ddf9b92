// GET /metrics in Prometheus text, request durations, and OAuth error counts.
import { createHash, timingSafeEqual } from "node:crypto";
import type { onRequestHookHandler, onSendHookHandler } from "fastify";
import fp from "fastify-plugin";
import { InvalidToken } from "../../errors/oauth.js";
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

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * METRICS_TOKEN: the scraper must send it as a Bearer token (RFC 6750 §2.1). Compared as SHA-256
 * digests with timingSafeEqual: equal lengths, so neither the content nor the length of the token
 * leaks through timing.
 */
function requireToken(token: string): onRequestHookHandler {
  const expected = digest(token);
  return (request, _reply, done) => {
    const match = /^bearer +(\S+)$/i.exec(request.headers.authorization?.trim() ?? "");
    if (!match) return done(new InvalidToken("a bearer token is required", { challenge: 'Bearer realm="tessera"' }));
    if (!timingSafeEqual(digest(match[1]!), expected)) return done(new InvalidToken("the token is not the metrics token"));
    done();
  };
}

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
    const token = app.services.config.metricsToken;
    app.get("/metrics", { ...(token !== undefined && { onRequest: requireToken(token) }) }, async (_request, reply) =>
      reply.header("cache-control", "no-store").type(metrics.registry.contentType).send(await metrics.registry.metrics()),
    );
  },
  { name: "metrics" },
);
