// GET /.well-known/oauth-authorization-server (RFC 8414) and /.well-known/openid-configuration
// (OpenID Connect Discovery 1.0 §3), built once at start from one source: the OpenID document is the
// RFC 8414 one plus the OpenID fields, so the two cannot disagree on a field they share.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply } from "fastify";
import { CLIENT_ASSERTION_ALGS } from "../../domain/clients/authenticate.js";
import { SIGNING_ALGS } from "../../config/schema.js";
import { GRANT_TYPES } from "../../domain/grants/index.js";
import { DPOP_SIGNING_ALGS } from "../../domain/tokens/dpop-proofs.js";
import { STATIC_DOCUMENT } from "../plugins/metrics.js";
import { PAR_PATH } from "./par.js";
import { METADATA_SCHEMA, OPENID_CONFIGURATION_SCHEMA } from "../schemas/oauth.js";

const AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"];
// Public clients (auth method none) may use /token and, for their own tokens, /revoke (RFC 7009 §2.1);
// never /introspect.
const WITH_PUBLIC_CLIENTS = [...AUTH_METHODS, "none"];
const WELL_KNOWN = "/.well-known/oauth-authorization-server";
export const OPENID_CONFIGURATION = "/.well-known/openid-configuration";

/** Where RP-initiated logout (OpenID RP-Initiated Logout 1.0) is served: end_session_endpoint. */
export const END_SESSION_PATH = "/end-session";

// The OpenID Connect scopes tessera gives meaning to (OIDC Core §5.4); clients register them like any
// other scope. Clients' own scopes (read, write, …) are theirs to advertise, not ours.
const OPENID_SCOPES = ["openid", "profile", "email"];
// The ID token's claims (id-token.ts) and /userinfo's (userinfo.ts).
const CLAIMS = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "name", "preferred_username", "email", "email_verified"];

/** RFC 8414 §2 metadata: the fields both documents carry. */
export function authorizationServerMetadata(issuer: string, statusLists: boolean, requirePar = false): Record<string, unknown> {
  // RFC 8414 §2: each *_auth_signing_alg_values_supported is REQUIRED where private_key_jwt is offered;
  // all three name the list the assertion verifier itself accepts.
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    revocation_endpoint: `${issuer}/revoke`,
    introspection_endpoint: `${issuer}/introspect`,
    grant_types_supported: GRANT_TYPES,
    token_endpoint_auth_methods_supported: WITH_PUBLIC_CLIENTS,
    token_endpoint_auth_signing_alg_values_supported: CLIENT_ASSERTION_ALGS,
    revocation_endpoint_auth_methods_supported: WITH_PUBLIC_CLIENTS,
    revocation_endpoint_auth_signing_alg_values_supported: CLIENT_ASSERTION_ALGS,
    introspection_endpoint_auth_methods_supported: AUTH_METHODS,
    introspection_endpoint_auth_signing_alg_values_supported: CLIENT_ASSERTION_ALGS,
    response_types_supported: ["code"], // the authorization code flow only (OAuth 2.1: no implicit)
    response_modes_supported: ["query"],
    code_challenge_methods_supported: ["S256"], // PKCE for every client; plain is refused
    authorization_response_iss_parameter_supported: true, // RFC 9207
    // RFC 9126 §5: pushed requests, and whether /authorize takes only them (REQUIRE_PAR; a client may
    // be required to push by its own require_pushed_authorization_requests either way)
    pushed_authorization_request_endpoint: `${issuer}${PAR_PATH}`,
    require_pushed_authorization_requests: requirePar,
    // Not in RFC 8414's registry, but used (Janssen, InterSystems) for what resource servers need: the algs an
    // access token may be signed with (every SIGNING_ALG, since a retired key of another alg stays published)
    access_token_signing_alg_values_supported: SIGNING_ALGS,
    // RFC 9449 §5.1: the algs a DPoP proof may use (crypto/dpop.ts accepts exactly these)
    dpop_signing_alg_values_supported: DPOP_SIGNING_ALGS,
    // draft-ietf-oauth-status-list §9.3: where resource servers find every Token Status List
    ...(statusLists && { status_list_aggregation_endpoint: `${issuer}/statuslists` }),
  };
}

/** OpenID Connect Discovery 1.0 §3: the RFC 8414 fields plus the OpenID ones. */
export function openidConfiguration(issuer: string, statusLists: boolean, requirePar = false): Record<string, unknown> {
  return {
    ...authorizationServerMetadata(issuer, statusLists, requirePar),
    userinfo_endpoint: `${issuer}/userinfo`,
    end_session_endpoint: `${issuer}${END_SESSION_PATH}`,
    // ID tokens are signed by the active key, of SIGNING_ALG; a key of another alg may still be active
    // during an alg change (key-states.ts), so every alg tessera signs with is listed (RS256 first, as
    // Discovery §3 requires it).
    id_token_signing_alg_values_supported: SIGNING_ALGS,
    subject_types_supported: ["public"],
    scopes_supported: OPENID_SCOPES,
    claims_supported: CLAIMS,
    // Discovery §3 defaults this to true; tessera fetches no request object from a request_uri (nor takes
    // request objects, default false). The request_uri of a pushed request (RFC 9126) is another thing,
    // advertised by pushed_authorization_request_endpoint.
    request_uri_parameter_supported: false,
  };
}

const metadata: FastifyPluginAsyncTypebox = async (app) => {
  const { issuer, requirePar } = app.services.config;
  const statusLists = app.services.statusLists !== null;
  const body = JSON.stringify(authorizationServerMetadata(issuer, statusLists, requirePar));
  const openid = JSON.stringify(openidConfiguration(issuer, statusLists, requirePar));
  const send = (reply: FastifyReply, document = body) =>
    reply.header("cache-control", "public, max-age=3600").type("application/json; charset=utf-8").send(document);
  app.get(WELL_KNOWN, { config: STATIC_DOCUMENT, schema: METADATA_SCHEMA }, (_request, reply) => send(reply));
  // Discovery §4: at the issuer plus /.well-known/openid-configuration. With an issuer path, the
  // proxy that strips it for every other endpoint strips it here too.
  app.get(OPENID_CONFIGURATION, { config: STATIC_DOCUMENT, schema: OPENID_CONFIGURATION_SCHEMA }, (_request, reply) => send(reply, openid));

  // RFC 8414 §3: an issuer with a path component (https://h/tenant) has its metadata at the
  // well-known URI with that path appended (https://h/.well-known/oauth-authorization-server/tenant).
  // The route above stays for a proxy that strips the path and forwards https://h/tenant/.well-known/….
  // A wildcard compared by value, so that no character of the path is read as router syntax (":", "*").
  const issuerPath = decodeURIComponent(new URL(issuer).pathname).replace(/^\/+|\/+$/g, "");
  if (issuerPath !== "") {
    app.get<{ Params: { "*": string } }>(`${WELL_KNOWN}/*`, { config: STATIC_DOCUMENT, schema: METADATA_SCHEMA }, (request, reply) =>
      request.params["*"] === issuerPath ? send(reply) : reply.callNotFound(),
    );
  }
};

export default metadata;
