// Request and response schemas of the OAuth endpoints. Response schemas also guard against leaks:
// Fastify serialises only the properties listed here.
import type { FastifySchema } from "fastify";
import { Type } from "typebox";

// A form parameter: one string. A repeated parameter arrives as an array and fails validation,
// as RFC 6749 §3.1 asks ("Request and response parameters MUST NOT be included more than once").
const param = Type.String({ maxLength: 4096 });

export const OAuthErrorBody = Type.Object(
  { error: Type.String(), error_description: Type.Optional(Type.String()) },
  { additionalProperties: false },
);

/** Standard answers of every OAuth route for errors. */
export const ERROR_RESPONSES = { "4xx": OAuthErrorBody, "5xx": OAuthErrorBody } as const;

export const TokenRequest = Type.Object(
  {
    grant_type: param,
    scope: Type.Optional(param),
    // RFC 8707 §2: resource may be repeated to ask for several audiences.
    resource: Type.Optional(Type.Union([param, Type.Array(param, { minItems: 1, maxItems: 10 })])),
    audience: Type.Optional(param),
    username: Type.Optional(param),
    password: Type.Optional(param),
    refresh_token: Type.Optional(param),
    code: Type.Optional(param),
    code_verifier: Type.Optional(param),
    redirect_uri: Type.Optional(param),
    client_id: Type.Optional(param),
    client_secret: Type.Optional(param),
    client_assertion_type: Type.Optional(param),
    client_assertion: Type.Optional(Type.String({ maxLength: 8192 })),
  },
  // Unknown parameters are dropped (Ajv removeAdditional), as RFC 6749 §3.2 asks: "MUST ignore".
  { additionalProperties: false },
);

export const TokenResponse = Type.Object(
  {
    access_token: Type.String(),
    token_type: Type.Union([Type.Literal("Bearer"), Type.Literal("DPoP")], { description: "DPoP when the access token is bound to the proof's key (RFC 9449 §5)" }),
    expires_in: Type.Integer(),
    scope: Type.Optional(Type.String()),
    refresh_token: Type.Optional(Type.String()),
    id_token: Type.Optional(Type.String({ description: "OpenID Connect Core §3.1.3.3: with scope openid (the code flow and its refreshes)" })),
  },
  { additionalProperties: false },
);

export const LoginRequest = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 128 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    client_id: Type.String({ minLength: 1, maxLength: 256 }),
  },
  { additionalProperties: false },
);

/** /refresh and /logout: the token comes from the cookie, or from this body (JSON or form). */
export const RefreshBody = Type.Object({ refresh_token: Type.Optional(param) }, { additionalProperties: false });

export const LogoutResponse = Type.Object({}, { additionalProperties: false });

/** /revoke (RFC 7009 §2.1) and /introspect (RFC 7662 §2.1). */
export const TokenStateRequest = Type.Object(
  {
    token: Type.String({ maxLength: 16384 }),
    token_type_hint: Type.Optional(param),
    client_id: Type.Optional(param),
    client_secret: Type.Optional(param),
    client_assertion_type: Type.Optional(param),
    client_assertion: Type.Optional(Type.String({ maxLength: 8192 })),
  },
  { additionalProperties: false },
);

export const IntrospectionResponse = Type.Object(
  {
    active: Type.Boolean(),
    scope: Type.Optional(Type.String()),
    client_id: Type.Optional(Type.String()),
    sub: Type.Optional(Type.String()),
    aud: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
    iss: Type.Optional(Type.String()),
    exp: Type.Optional(Type.Integer()),
    iat: Type.Optional(Type.Integer()),
    jti: Type.Optional(Type.String()),
    token_type: Type.Optional(Type.String()),
    /** RFC 9449 §6.2: a DPoP-bound access token's key (JWK SHA-256 thumbprint) */
    cnf: Type.Optional(Type.Object({ jkt: Type.String() }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

// The JWKS and the metadata go out pre-serialised (a string, sent as it is): these schemas describe
// them for /openapi.json and serialise nothing. Typed as plain FastifySchema so that the handlers'
// replies stay strings to the type provider.
const JwksDocument = Type.Object(
  { keys: Type.Array(Type.Record(Type.String(), Type.Unknown()), { description: "public JWKs (RFC 7517): kty, kid, alg, use and the public members" }) },
  { description: "the keys that sign or will sign, and retired keys until the tokens they signed have expired" },
);

export const JWKS_SCHEMA: FastifySchema = {
  response: { 200: JwksDocument, 304: Type.Null({ description: "Not Modified: If-None-Match matched the ETag" }) },
};

const ServerMetadata = Type.Object(
  {
    issuer: Type.String(),
    authorization_endpoint: Type.String(),
    token_endpoint: Type.String(),
    jwks_uri: Type.String(),
    revocation_endpoint: Type.String(),
    introspection_endpoint: Type.String(),
    grant_types_supported: Type.Array(Type.String()),
    token_endpoint_auth_methods_supported: Type.Array(Type.String()),
    response_types_supported: Type.Array(Type.String()),
    code_challenge_methods_supported: Type.Array(Type.String()),
    authorization_response_iss_parameter_supported: Type.Boolean(),
  },
  { additionalProperties: true, description: "RFC 8414 authorization server metadata" },
);

export const METADATA_SCHEMA: FastifySchema = { response: { 200: ServerMetadata } };

const OpenIdConfiguration = Type.Object(
  {
    ...ServerMetadata.properties,
    userinfo_endpoint: Type.String(),
    end_session_endpoint: Type.String(),
    id_token_signing_alg_values_supported: Type.Array(Type.String()),
    subject_types_supported: Type.Array(Type.String()),
    scopes_supported: Type.Array(Type.String()),
    claims_supported: Type.Array(Type.String()),
  },
  { additionalProperties: true, description: "OpenID Connect Discovery 1.0 provider metadata: the RFC 8414 document plus these" },
);

export const OPENID_CONFIGURATION_SCHEMA: FastifySchema = { response: { 200: OpenIdConfiguration } };

// OpenID Connect UserInfo (OIDC Core §5.3): POST may carry the token as a form parameter (RFC 6750 §2.2).
export const UserInfoForm = Type.Object({ access_token: Type.Optional(param) }, { additionalProperties: false });

export const UserInfoResponse = Type.Object(
  {
    sub: Type.String(),
    name: Type.Optional(Type.String()),
    preferred_username: Type.Optional(Type.String()),
    email: Type.Optional(Type.String()),
    email_verified: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
