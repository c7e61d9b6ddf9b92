// The Fastify plugin: every route of the context it is registered in needs a valid access token
// (a route opts out with `config: { accessToken: false }`); `request.accessToken` holds the
// verified claims; `app.requireScopes(…)` makes a preHandler that also checks scopes. A token comes
// as `Bearer` (RFC 6750) or as `DPoP` with a proof of the key it is bound to (RFC 9449 §7); failures
// answer with the challenge of the scheme the request used.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from "fastify";
import fp from "fastify-plugin";
import { DEFAULT_DPOP_ALGORITHMS } from "./dpop.js";
import { AccessTokenError } from "./errors.js";
import { createVerifier, type AccessTokenClaims, type Verifier, type VerifierOptions } from "./verifier.js";
import { bearerChallenge, dpopChallenge } from "./www-authenticate.js";

export type ResourceServerOptions = VerifierOptions & {
  /** `realm` of the WWW-Authenticate challenge (RFC 6750 §3); none by default. */
  realm?: string;
  /** A verifier made with createVerifier, to share one between apps (the other options are then ignored). */
  verifier?: Verifier;
  /**
   * Where clients reach this app: scheme, host, port if any, and a path prefix if a proxy adds one
   * (`https://api.example.com/v1`). A DPoP proof's `htu` must be this followed by the request's path.
   * Default: the request's own protocol and Host (`request.protocol`, `request.host`; behind a proxy,
   * set Fastify's `trustProxy` so that they come from X-Forwarded-Proto/-Host, or set this).
   */
  publicUrl?: string;
};

type Scheme = "Bearer" | "DPoP";

declare module "fastify" {
  interface FastifyInstance {
    /** A preHandler refusing (403 insufficient_scope) a token that lacks any of `scopes`. */
    requireScopes(...scopes: string[]): preHandlerAsyncHookHandler;
    accessTokenVerifier: Verifier;
  }
  interface FastifyRequest {
    /** The verified access token's claims; null on a route with `config: { accessToken: false }`. */
    accessToken: AccessTokenClaims | null;
  }
  interface FastifyContextConfig {
    /** false: this route needs no access token. */
    accessToken?: boolean;
  }
}

// RFC 6750 §2.1 (b64token) and RFC 9449 §7.1 (token68) after the scheme.
const CREDENTIALS = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*) *$/i;
const SCHEME = /^(Bearer|DPoP)(?: |$)/i;
// RFC 6749 §3.3: a scope token is 1*NQCHAR.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

const resourceServer: FastifyPluginAsync<ResourceServerOptions> = async (app, options) => {
  const verifier = options.verifier ?? createVerifier(options);
  const realm = options.realm;
  const algs = verifier.dpopAlgorithms ?? DEFAULT_DPOP_ALGORITHMS;
  const publicUrl = options.publicUrl?.replace(/\/+$/, "");
  // Discovery at start, so that a wrong issuer fails the app's boot, not its first request.
  await verifier.ready();

  // The scheme each request's token came with, for the challenge of a later refusal (requireScopes).
  const schemes = new WeakMap<FastifyRequest, Scheme>();

  const refuse = (reply: FastifyReply, error: AccessTokenError, scheme: Scheme = "Bearer") => {
    if (error.status === 401 || error.status === 403) {
      const challenge = { realm, error: error.code, description: error.message, scope: error.scope };
      reply.header("www-authenticate", scheme === "DPoP" ? dpopChallenge({ ...challenge, algs }) : bearerChallenge(challenge));
    }
    if (error.status === 503) reply.header("retry-after", "5");
    return reply.code(error.status).type("application/json; charset=utf-8").send({ error: error.code, error_description: error.message });
  };

  app.decorate("accessTokenVerifier", verifier);
  app.decorateRequest("accessToken", null);

  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.routeOptions.config?.accessToken === false) return;
    const header = request.headers.authorization;
    const scheme = header === undefined ? undefined : SCHEME.exec(header)?.[1];
    if (scheme === undefined) {
      // RFC 6750 §3.1: a request without credentials gets a challenge without an error code; one
      // per scheme accepted (RFC 9449 §7.2).
      return reply
        .code(401)
        .header("www-authenticate", `${bearerChallenge({ realm })}, ${dpopChallenge({ realm, algs })}`)
        .type("application/json; charset=utf-8")
        .send({ error_description: "an access token is required (Authorization: Bearer <token>, or DPoP <token> with a DPoP proof)" });
    }
    const used: Scheme = scheme.toLowerCase() === "dpop" ? "DPoP" : "Bearer";
    schemes.set(request, used);
    const token = CREDENTIALS.exec(header!)?.[2];
    if (token === undefined) return refuse(reply, new AccessTokenError("invalid_token", "the token is malformed"), used);
    try {
      const dpopHeader = request.headers.dpop;
      // Coverage: Node's HTTP/1 and HTTP/2 parsers (and inject) join a repeated DPoP header into one
      // string with ", "; only set-cookie ever arrives as an array, so the array case is unreachable.
      /* c8 ignore next */
      const proof = Array.isArray(dpopHeader) ? dpopHeader.join(", ") : dpopHeader;
      request.accessToken = await verifier.verify(token, used === "DPoP"
        ? { dpop: { proof, method: request.method, url: `${publicUrl ?? `${request.protocol}://${request.host}`}${request.url}` } }
        : {});
    } catch (error) {
      if (error instanceof AccessTokenError) return refuse(reply, error, used);
      throw error;
    }
  });

  app.decorate("requireScopes", (...scopes: string[]): preHandlerAsyncHookHandler => {
    for (const scope of scopes) if (!SCOPE_TOKEN.test(scope)) throw new TypeError(`not a scope token: ${JSON.stringify(scope)}`);
    const needed = scopes.join(" ");
    return async function requireScopes(request, reply) {
      const claims = request.accessToken;
      if (claims === null) return refuse(reply, new AccessTokenError("invalid_token", "the route needs an access token"));
      const granted = new Set(typeof claims.scope === "string" ? claims.scope.split(" ") : []);
      if (scopes.every((scope) => granted.has(scope))) return;
      return refuse(reply, new AccessTokenError("insufficient_scope", `the token lacks scope ${needed}`, { scope: needed }), schemes.get(request));
    };
  });
};

export default fp(resourceServer, { fastify: "5.x", name: "@tessera/resource-server" });
