// GET /statuslists/:id (draft-ietf-oauth-status-list §8): the Status List Token of list :id, the
// `uri` that access tokens' status claims name. Served from memory (domain/tokens/
// status-list-registry.ts signs each list once per change) with a strong ETag per encoding:
// the JWT's `lst` is compressed already, but it is base64url inside base64url, and gzip takes back
// most of that (a list of 2^20 entries at 1% revoked: 26.1 KB → 15.0 KB).
import type { FastifyPluginAsync, FastifySchema } from "fastify";
import { Type } from "typebox";
import { NotFoundError } from "../../errors/internal.js";
import { STATIC_DOCUMENT } from "../plugins/metrics.js";
import { EXPECTED } from "../schemas/expected.js";
import { ERROR_RESPONSES } from "../schemas/oauth.js";

export const STATUS_LIST_CONTENT_TYPE = "application/statuslist+jwt";

const ListParams = Type.Object({
  id: Type.String({ maxLength: 4, pattern: "^(0|[1-9][0-9]*)$", [EXPECTED]: "a status list number (0 to 2047)" }),
});

/** RFC 9110 §13.1.2 If-None-Match: a list of entity tags (weak comparison), or "*". */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  return ifNoneMatch.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t === etag || t === `W/${etag}`;
  });
}

/** gzip when the request accepts it (RFC 9110 §12.5.3), unless it says q=0. */
function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (!acceptEncoding) return false;
  return acceptEncoding.split(",").some((part) => {
    const [coding = "", ...params] = part.trim().toLowerCase().split(";");
    if (coding.trim() !== "gzip" && coding.trim() !== "*") return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

// Typed loosely (as the JWKS route's): the 200 is a JWS string or its gzip bytes, not JSON.
const SCHEMA: FastifySchema = {
  params: ListParams,
  response: {
    200: { description: "The Status List Token (a JWS)", content: { [STATUS_LIST_CONTENT_TYPE]: { schema: Type.String() } } },
    304: Type.Null({ description: "Not Modified: If-None-Match matched the ETag" }),
    ...ERROR_RESPONSES,
  },
};

const statusLists: FastifyPluginAsync = async (app) => {
  const registry = app.services.statusLists;
  if (!registry) return; // STATUS_LIST=off
  const cacheControl = `public, max-age=${app.services.config.statusListTtlSeconds}`;
  app.get<{ Params: { id: string } }>("/statuslists/:id", { config: STATIC_DOCUMENT, schema: SCHEMA }, async (request, reply) => {
    const list = await registry.published(Number(request.params.id));
    if (!list) throw new NotFoundError("no such status list");
    const gzip = acceptsGzip(request.headers["accept-encoding"]);
    const etag = gzip ? list.gzipEtag : list.etag;
    reply.headers({ "cache-control": cacheControl, etag, vary: "Accept-Encoding" });
    // RFC 9110 §15.4.5: a 304 carries no Content-Type.
    if (matches(request.headers["if-none-match"], etag)) return reply.code(304).send();
    reply.header("content-type", STATUS_LIST_CONTENT_TYPE);
    if (gzip) return reply.header("content-encoding", "gzip").send(list.gzipped);
    return reply.send(list.jwt);
  });
};

export default statusLists;
