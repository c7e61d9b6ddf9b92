// Token responses must not be cached (RFC 6749 §5.1; node-oidc-provider lib/shared/no_cache.js).
// An onRequest hook, so the headers are set before any error path runs too.
import type { onRequestHookHandler } from "fastify";

export const noStore: onRequestHookHandler = (_request, reply, done) => {
  reply.header("cache-control", "no-store").header("pragma", "no-cache");
  done();
};
