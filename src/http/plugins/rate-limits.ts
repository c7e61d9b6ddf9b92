// Per-endpoint rate limits (@fastify/rate-limit), in Redis when REDIS_URL is set (shared by every
// instance), else in memory. /login, /refresh and /logout count per IP address. /token, /revoke and
// /introspect count what client authentication tells (client-auth.ts): a request that authenticates
// counts for its client, and only for it; one that fails counts for its IP address, and an address
// whose failures used up the minute's budget is refused before authentication. A client_id named
// by a failed request is never trusted as a key that could lock its owner out: it only turns that
// id's further failures into 429 once they pass the budget, and the right secret still gets through.
import rateLimit, { normalizeIP, type RateLimitOptions } from "@fastify/rate-limit";
import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { Config } from "../../config/schema.js";
import { SlowDown } from "../../errors/oauth.js";

const WINDOW_MS = 60_000;

/** Route config for a limit of `perMinute` per IP address (undefined: no limit). Runs after body parsing. */
export function limitPerMinute(perMinute: number): { rateLimit: RateLimitOptions } | undefined {
  if (perMinute === 0) return undefined;
  return { rateLimit: { max: perMinute, timeWindow: WINDOW_MS, hook: "preHandler", keyGenerator: (request) => `ip:${request.ip}` } };
}

type Limiter = ReturnType<FastifyInstance["createRateLimit"]>;
type Outcome = Awaited<ReturnType<Limiter>>;

function slowDown(outcome: Outcome | undefined, why: string): SlowDown | undefined {
  if (outcome === undefined || outcome.isAllowed || !outcome.isExceeded) return undefined;
  const seconds = Math.max(1, outcome.ttlInSeconds);
  return new SlowDown(seconds, `${why}; retry in ${seconds} s`);
}

const TOO_MANY = "rate limit exceeded";
const TOO_MANY_FAILURES = "too many failed client authentications";

export type ClientAuthLimits = {
  /** Before authentication: refuses (SlowDown) an address whose failures used up the minute's budget. */
  checkAddress(request: FastifyRequest): Promise<void>;
  /** After a failed authentication: counts it for the address and the claimed client_id; the
   *  SlowDown to answer instead of the failure once either is past the budget. */
  failed(request: FastifyRequest): Promise<SlowDown | undefined>;
  /** After a successful authentication (request.client set): counts the request for that client,
   *  refusing (SlowDown) past the limit. */
  admit(request: FastifyRequest): Promise<void>;
};

/**
 * The limits of an endpoint with client authentication: `perMinute` requests per authenticated
 * client, and as many failed authentications per IP address (IPv6 addresses by /64, what one host
 * usually gets) and per claimed client_id. Each count has its own store (for the in-memory store,
 * its own LRU), so made-up client_ids cannot evict the counts of addresses or of real clients.
 */
export function clientAuthLimits(
  app: FastifyInstance,
  endpoint: string,
  perMinute: number,
  claimedClientId: (request: FastifyRequest) => string | undefined,
): ClientAuthLimits | undefined {
  if (perMinute === 0) return undefined;
  // createRateLimit() keys have no route prefix of their own (in Redis: "tessera-rate-limit:undefinedundefined-"),
  // so the endpoint is part of each key.
  const limiter = (keyGenerator: (request: FastifyRequest) => string) => app.createRateLimit({ max: perMinute, timeWindow: WINDOW_MS, keyGenerator });
  const byAddress = limiter((request) => `${endpoint} failed-ip:${normalizeIP(request.ip)}`);
  const byClaim = limiter((request) => `${endpoint} failed-client-id:${claimedClientId(request)}`);
  // A public client proves nothing (client_id alone): counted per client and address, so that one
  // caller cannot use up the budget of every user of the app.
  const byClient = limiter(({ client, ip }) => (client!.public ? `${endpoint} public-client:${client!.id} ip:${normalizeIP(ip)}` : `${endpoint} client:${client!.id}`));
  return {
    async checkAddress(request) {
      const refusal = slowDown(await byAddress(request, { increment: false }), `${TOO_MANY_FAILURES} from this address`);
      if (refusal) throw refusal;
    },
    async failed(request) {
      const [address, claim] = await Promise.all([byAddress(request), claimedClientId(request) === undefined ? undefined : byClaim(request)]);
      return slowDown(address, `${TOO_MANY_FAILURES} from this address`) ?? slowDown(claim, `${TOO_MANY_FAILURES} for this client_id`);
    },
    async admit(request) {
      const refusal = slowDown(await byClient(request), TOO_MANY);
      if (refusal) throw refusal;
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
