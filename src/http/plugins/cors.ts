// CORS (@fastify/cors) for browser apps on the origins listed in CORS_ORIGINS, exactly as the Origin
// header spells them; none by default, and then nothing is registered. Only these endpoints answer
// cross-origin requests and preflights: the OAuth endpoints and documents without credentials, the
// first-party ones (whose refresh token is a cookie) with credentials. Any other path, an unlisted
// origin, or an OPTIONS that is no preflight gets no CORS headers at all (a preflight then meets the
// usual 404), so a browser refuses it.
import type { FastifyCorsOptions } from "@fastify/cors";
import type { FastifyRequest } from "fastify";
import fp from "fastify-plugin";

type Policy = Pick<FastifyCorsOptions, "methods" | "allowedHeaders" | "exposedHeaders" | "credentials">;

/** Seconds a browser may keep a preflight's answer (Chromium keeps at most 7200). */
const PREFLIGHT_MAX_AGE = 600;

// Client authentication may come as an Authorization header (client_secret_basic); a DPoP proof as a
// DPoP header, and the server's next nonce comes back in DPoP-Nonce (RFC 9449 §4.1, §8).
const OAUTH: Policy = { methods: "POST", allowedHeaders: "Authorization, Content-Type, DPoP", exposedHeaders: "Retry-After, WWW-Authenticate, DPoP-Nonce", credentials: false };
// OpenID Connect UserInfo: a Bearer token from a browser app, no cookies; the challenge is readable.
const USERINFO: Policy = { methods: "GET, POST", allowedHeaders: "Authorization, Content-Type", exposedHeaders: "WWW-Authenticate", credentials: false };
// Documents: a conditional request (If-None-Match) is the only header worth sending.
const DOCUMENT: Policy = { methods: "GET", allowedHeaders: "If-None-Match", exposedHeaders: "ETag", credentials: false };
// The refresh token travels as an HttpOnly cookie: credentials, for listed origins only.
const FIRST_PARTY: Policy = { methods: "POST", allowedHeaders: "Content-Type", exposedHeaders: "Retry-After", credentials: true };

const POLICIES = new Map<string, Policy>([
  ["/token", OAUTH],
  ["/revoke", OAUTH],
  ["/introspect", OAUTH],
  ["/par", OAUTH], // a browser app (public client) pushes its request too (RFC 9126 §2)
  ["/.well-known/jwks.json", DOCUMENT],
  ["/.well-known/oauth-authorization-server", DOCUMENT],
  ["/.well-known/openid-configuration", DOCUMENT],
  ["/statuslists", DOCUMENT], // and each /statuslists/<id> (STATUS_LISTS below)
  ["/login", FIRST_PARTY],
  ["/refresh", FIRST_PARTY],
  ["/logout", FIRST_PARTY],
  ["/userinfo", USERINFO],
]);

// Token Status Lists (/statuslists/<id>): documents that browser-based resource servers fetch too.
const STATUS_LISTS = "/statuslists/";

const pathOf = (url: string) => {
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
};

export default fp<{ origins: readonly string[] }>(
  async (app, { origins }) => {
    if (origins.length === 0) return;
    const allowed = new Set(origins);
    const policyFor = (request: FastifyRequest): FastifyCorsOptions => {
      const origin = request.headers.origin;
      if (origin === undefined || !allowed.has(origin)) return { origin: false };
      if (request.method === "OPTIONS" && request.headers["access-control-request-method"] === undefined) return { origin: false };
      const path = pathOf(request.url);
      const policy = POLICIES.get(path) ?? (path.startsWith(STATUS_LISTS) ? DOCUMENT : undefined);
      return policy ? { ...policy, origin, maxAge: PREFLIGHT_MAX_AGE } : { origin: false };
    };
    const cors = (await import("@fastify/cors")).default; // only when used, as the CLI never does
    await app.register(cors, { delegator: (request, callback) => callback(null, policyFor(request)) });
  },
  { name: "cors" },
);
