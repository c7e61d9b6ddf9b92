// GET /.well-known/jwks.json (RFC 7517): public keys, serialised once per key change by the KeyRing.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { STATIC_DOCUMENT } from "../plugins/metrics.js";
import { JWKS_SCHEMA } from "../schemas/oauth.js";

/** RFC 9110 §13.1.2 If-None-Match: a list of entity tags (weak comparison), or "*". */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  return ifNoneMatch.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t === etag || t === `W/${etag}`;
  });
}

const jwks: FastifyPluginAsyncTypebox = async (app) => {
  const cacheControl = `public, max-age=${app.services.config.jwksMaxAgeSeconds}`;
  app.get("/.well-known/jwks.json", { config: STATIC_DOCUMENT, schema: JWKS_SCHEMA }, (request, reply) => {
    const { body, etag } = app.services.keys.jwks;
    reply.headers({ "cache-control": cacheControl, etag });
    // RFC 9110 §15.4.5: a 304 carries no Content-Type.
    if (matches(request.headers["if-none-match"], etag)) return reply.code(304).send();
    return reply.header("content-type", "application/json; charset=utf-8").send(body);
  });
};

export default jwks;
