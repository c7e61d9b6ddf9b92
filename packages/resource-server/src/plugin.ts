// The Fastify plugin: every route of the context it is registered in needs a valid access token
// (a route opts out with `config: { accessToken: false }`); `request.accessToken` holds the
// verified claims; `app.requireScopes(…)` makes a preHandler that also checks scopes.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from "fastify";
import fp from "fastify-plugin";
import { AccessTokenError } from "./errors.js";
import { createVerifier, type AccessTokenClaims, type Verifier, type VerifierOptions } from "./verifier.js";
import { bearerChallenge } from "./www-authenticate.js";

export type ResourceServerOptions = VerifierOptions & {
  /** `realm` of the WWW-Authenticate challenge (RFC 6750 §3); none by default. */
  realm?: string;
  /** A verifier made with createVerifier, to share one between apps (the other options are then ignored). */
  verifier?: Verifier;
};

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

// RFC 6750 §2.1: b64token after the scheme.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const SCHEME = /^Bearer(?: |$)/i;
// RFC 6749 §3.3: a scope token is 1*NQCHAR.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

const resourceServer: FastifyPluginAsync<ResourceServerOptions> = async (app, options) => {
  const verifier = options.verifier ?? createVerifier(options);
  const realm = options.realm;
  // Discovery at start, so that a wrong issuer fails the app's boot, not its first request.
  await verifier.ready();

  const refuse = (reply: FastifyReply, error: AccessTokenError) => {
    if (error.status === 401 || error.status === 403) {
      reply.header("www-authenticate", bearerChallenge({ realm, error: error.code, description: error.message, scope: error.scope }));
    }
    if (error.status === 503) reply.header("retry-after", "5");
    return reply.code(error.status).type("application/json; charset=utf-8").send({ error: error.code, error_description: error.message });
  };

  app.decorate("accessTokenVerifier", verifier);
  app.decorateRequest("accessToken", null);

  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.routeOptions.config?.accessToken === false) return;
    const header = request.headers.authorization;
    if (header === undefined || !SCHEME.test(header)) {
      // RFC 6750 §3.1: a request without credentials gets a challenge without an error code.
      return reply
        .code(401)
        .header("www-authenticate", bearerChallenge({ realm }))
        .type("application/json; charset=utf-8")
        .send({ error_description: "an access token is required (Authorization: Bearer <token>)" });
    }
    const token = BEARER.exec(header)?.[1];
    if (token === undefined) return refuse(reply, new AccessTokenError("invalid_token", "the token is malformed"));
    try {
      request.accessToken = await verifier.verify(token);
    } catch (error) {
      if (error instanceof AccessTokenError) return refuse(reply, error);
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
      return refuse(reply, new AccessTokenError("insufficient_scope", `the token lacks scope ${needed}`, { scope: needed }));
    };
  });
};

export default fp(resourceServer, { fastify: "5.x", name: "@tessera/resource-server" });
