// Per-endpoint rate limits (@fastify/rate-limit), counted per client where the request names one and
// per IP otherwise, in Redis when REDIS_URL is set (shared by every instance), else in memory.
import rateLimit, { type RateLimitOptions } from "@fastify/rate-limit";
import type { FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { Config } from "../../config/schema.js";
import { SlowDown } from "../../errors/oauth.js";
import { basicClientId } from "./client-auth.js";

const WINDOW_MS = 60_000;

/**
 * The client a request names (Basic header or client_id parameter); unauthenticated, only a key. The
 * header is decoded as client authentication decodes it, so "abc" and "%61bc" share one count.
 */
function namedClient(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const fromHeader = header === undefined ? undefined : basicClientId(header);
  if (fromHeader !== undefined) return fromHeader;
  const body = request.body as { client_id?: unknown } | undefined;
  return typeof body?.client_id === "string" ? body.client_id : undefined;
}

const byClientOrIp = (request: FastifyRequest) => {
  const client = namedClient(request);
  return client === undefined ? `ip:${request.ip}` : `client:${client}`;
};

/** Route config for a limit of `perMinute` (undefined: no limit). Runs after body parsing. */
export function limitPerMinute(perMinute: number, key: "client" | "ip"): { rateLimit: RateLimitOptions } | undefined {
  if (perMinute === 0) return undefined;
  return {
    rateLimit: {
      max: perMinute,
      timeWindow: WINDOW_MS,
      hook: "preHandler",
      keyGenerator: key === "client" ? byClientOrIp : (request) => `ip:${request.ip}`,
    },
  };
}

export default fp<{ config: Config }>(
  async (app, { config }) => {
    // Imported only when used: the Redis client is ~15 MiB of resident memory.
    const redis = config.redisUrl
      ? new (await import("ioredis")).Redis(config.redisUrl, { connectTimeout: 1000, maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false })
      : undefined;
    if (redis) {
      redis.on("error", (err) => app.services.log.warn({ err }, "rate-limit store (Redis) unavailable; requests pass unlimited"));
      app.addHook("onClose", async () => void redis.disconnect());
    }
    await app.register(rateLimit, {
      global: false, // only the routes that ask, through limitPerMinute()
      ...(redis && { redis }),
      nameSpace: "tessera-rate-limit:",
      skipOnError: true, // a Redis outage must not take sign-in down with it
      addHeadersOnExceeding: { "x-ratelimit-limit": false, "x-ratelimit-remaining": false, "x-ratelimit-reset": false },
      errorResponseBuilder: (_request, context) => new SlowDown(Math.max(1, Math.ceil(context.ttl / 1000)), `rate limit exceeded, retry in ${context.after}`),
    });
  },
  { name: "rate-limits" },
);
