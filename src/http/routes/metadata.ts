// GET /.well-known/oauth-authorization-server (RFC 8414), built once at start.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { SIGNING_ALGS } from "../../config/schema.js";
import { GRANT_TYPES } from "../../domain/grants/index.js";
import { STATIC_DOCUMENT } from "../plugins/metrics.js";

const AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"];
const ASSERTION_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

const metadata: FastifyPluginAsyncTypebox = async (app) => {
  const { issuer } = app.services.config;
  const body = JSON.stringify({
    issuer,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    revocation_endpoint: `${issuer}/revoke`,
    introspection_endpoint: `${issuer}/introspect`,
    grant_types_supported: GRANT_TYPES,
    token_endpoint_auth_methods_supported: AUTH_METHODS,
    token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS,
    revocation_endpoint_auth_methods_supported: AUTH_METHODS,
    introspection_endpoint_auth_methods_supported: AUTH_METHODS,
    response_types_supported: [], // no authorization endpoint: nothing is issued from the front channel
    // Not in RFC 8414's registry, but used (Janssen, InterSystems) for what resource servers need: the algs an
    // access token may be signed with (every SIGNING_ALG, since a retired key of another alg stays published)
    access_token_signing_alg_values_supported: SIGNING_ALGS,
  });
  app.get("/.well-known/oauth-authorization-server", { config: STATIC_DOCUMENT }, (_request, reply) =>
    reply.header("cache-control", "public, max-age=3600").type("application/json; charset=utf-8").send(body),
  );
};

export default metadata;
