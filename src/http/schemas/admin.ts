// Admin API bodies: snake_case, as OAuth names things (RFC 7591 style). Dates are ISO 8601 strings.
import { Type } from "typebox";
import { MAX_REDIRECT_URIS, MAX_TOKEN_TTL_SECONDS } from "../../domain/clients/client-service.js";
import { MAX_REDIRECT_URI_LENGTH } from "../../domain/clients/redirect-uris.js";
import { GRANT_TYPES } from "../../domain/grants/index.js";
import { EXPECTED } from "./expected.js";

const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T, options: Record<string, unknown> = {}) =>
  Type.Union([schema, Type.Null()], options);
const uri = Type.String({ minLength: 1, maxLength: 2048 });
const jwkSet = Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.Unknown()), { maxItems: 10 }) }, { additionalProperties: false });

/** A client as the admin API answers it and `tessera clients … --json` prints it (domain/clients/client-view.ts). */
export const ClientBody = Type.Object(
  {
    client_id: Type.String(),
    client_name: Type.String(),
    grant_types: Type.Array(Type.String()),
    scope: Type.String(),
    audiences: Type.Array(Type.String()),
    token_endpoint_auth_method: Type.Union([Type.Literal("client_secret_basic"), Type.Literal("private_key_jwt"), Type.Literal("none")]),
    redirect_uris: Type.Array(Type.String()),
    post_logout_redirect_uris: Type.Array(Type.String()),
    public: Type.Boolean(),
    dpop_bound_access_tokens: Type.Boolean(),
    require_pushed_authorization_requests: Type.Boolean(),
    jwks: nullable(Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) })),
    token_ttl: nullable(Type.Integer()),
    first_party: Type.Boolean(),
    introspect: Type.Boolean(),
    enabled: Type.Boolean(),
    previous_secret_expires_at: nullable(Type.String()),
    created_at: Type.String(),
    updated_at: Type.String(),
  },
  { additionalProperties: false },
);

export const ClientWithSecret = Type.Object(
  { client_id: ClientBody.properties.client_id, client_secret: Type.Optional(Type.String()), ...Type.Omit(ClientBody, ["client_id"]).properties },
  { additionalProperties: false },
);

// Request fields. Each says what it expects in words (EXPECTED) where its keywords cannot.
// `name` is the older spelling of `client_name` and is still accepted (not both at once).
const clientName = Type.String({ minLength: 1, maxLength: 200 });
const clientFields = {
  client_name: clientName,
  name: clientName,
  grant_types: Type.Array(Type.String({ maxLength: 64 }), {
    minItems: 1,
    maxItems: 8,
    [EXPECTED]: `an array of 1 to 8 grant types (${GRANT_TYPES.join(", ")})`,
  }),
  scope: Type.String({ maxLength: 4096, [EXPECTED]: "a string of space-separated scope tokens, at most 4096 characters" }),
  audiences: Type.Array(uri, { minItems: 1, maxItems: 32, [EXPECTED]: "an array of URIs (1 to 32, each at most 2048 characters)" }),
  token_ttl: nullable(Type.Integer({ minimum: 1, maximum: MAX_TOKEN_TTL_SECONDS }), {
    [EXPECTED]: `a number of seconds from 1 to ${MAX_TOKEN_TTL_SECONDS}, or null for the server default`,
  }),
  first_party: Type.Boolean(),
  introspect: Type.Boolean(),
  jwks: nullable(jwkSet, { [EXPECTED]: "a JWK Set, {keys: [...]} with at most 10 public keys, or null" }),
  redirect_uris: Type.Array(Type.String({ minLength: 1, maxLength: MAX_REDIRECT_URI_LENGTH }), {
    maxItems: MAX_REDIRECT_URIS,
    [EXPECTED]: `an array of at most ${MAX_REDIRECT_URIS} redirect URIs (https, http on a loopback address, or a private-use scheme; no fragment)`,
  }),
  post_logout_redirect_uris: Type.Array(Type.String({ minLength: 1, maxLength: MAX_REDIRECT_URI_LENGTH }), {
    maxItems: MAX_REDIRECT_URIS,
    [EXPECTED]: `an array of at most ${MAX_REDIRECT_URIS} post-logout redirect URIs (https, http on a loopback address, or a private-use scheme; no fragment)`,
  }),
  public: Type.Boolean(),
  dpop_bound_access_tokens: Type.Boolean({ description: "RFC 9449 §5.2: every token request must carry a DPoP proof, so every access token is key-bound" }),
  require_pushed_authorization_requests: Type.Boolean({ description: "RFC 9126 §6: /authorize takes this client's requests only by a request_uri from /par" }),
};

export const ClientCreate = Type.Object(
  {
    client_name: Type.Optional(clientFields.client_name),
    name: Type.Optional(clientFields.name),
    grant_types: clientFields.grant_types,
    audiences: clientFields.audiences,
    scope: Type.Optional(clientFields.scope),
    token_ttl: Type.Optional(clientFields.token_ttl),
    first_party: Type.Optional(clientFields.first_party),
    introspect: Type.Optional(clientFields.introspect),
    jwks: Type.Optional(clientFields.jwks),
    redirect_uris: Type.Optional(clientFields.redirect_uris),
    post_logout_redirect_uris: Type.Optional(clientFields.post_logout_redirect_uris),
    public: Type.Optional(clientFields.public),
    dpop_bound_access_tokens: Type.Optional(clientFields.dpop_bound_access_tokens),
    require_pushed_authorization_requests: Type.Optional(clientFields.require_pushed_authorization_requests),
  },
  { additionalProperties: false },
);

export const ClientPatch = Type.Object(
  {
    client_name: Type.Optional(clientFields.client_name),
    name: Type.Optional(clientFields.name),
    grant_types: Type.Optional(clientFields.grant_types),
    audiences: Type.Optional(clientFields.audiences),
    scope: Type.Optional(clientFields.scope),
    token_ttl: Type.Optional(clientFields.token_ttl),
    first_party: Type.Optional(clientFields.first_party),
    introspect: Type.Optional(clientFields.introspect),
    jwks: Type.Optional(clientFields.jwks),
    redirect_uris: Type.Optional(clientFields.redirect_uris),
    post_logout_redirect_uris: Type.Optional(clientFields.post_logout_redirect_uris),
    public: Type.Optional(clientFields.public),
    dpop_bound_access_tokens: Type.Optional(clientFields.dpop_bound_access_tokens),
    require_pushed_authorization_requests: Type.Optional(clientFields.require_pushed_authorization_requests),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

// client_ids are base64url: anything else is not one (and may hold bytes a database refuses).
export const ClientIdParams = Type.Object({
  id: Type.String({ maxLength: 64, pattern: "^[A-Za-z0-9_-]+$", [EXPECTED]: "a client_id (at most 64 letters, digits, - or _)" }),
});

export const SecretRotation = Type.Object(
  { grace_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86400, [EXPECTED]: "a number of seconds from 0 to 2592000 (30 days)" })) },
  { additionalProperties: false },
);

export const SecretBody = Type.Object(
  { client_id: Type.String(), client_secret: Type.String(), previous_secret_expires_at: nullable(Type.String()) },
  { additionalProperties: false },
);

export const KeyBody = Type.Object(
  {
    kid: Type.String(),
    alg: Type.String(),
    state: Type.String(),
    generation: Type.Integer(),
    created_at: Type.String(),
    activates_at: Type.String(),
    retired_since: nullable(Type.String()),
    published: Type.Boolean(),
  },
  { additionalProperties: false },
);

export const KeyRotation = Type.Object({ now: Type.Optional(Type.Boolean()) }, { additionalProperties: false });

// OpenID Connect profile claims (/userinfo with scopes profile and email); the service checks them further.
const UserName = Type.String({ minLength: 1, maxLength: 256, description: "the user's full name (claim name)" });
const UserEmail = Type.String({ minLength: 3, maxLength: 254, pattern: "^[^\\s@]+@[^\\s@]+$", [EXPECTED]: "an email address (local@domain, no spaces)" });
const EmailVerified = Type.Boolean({ description: "the address was checked (claim email_verified); false unless set, and reset when the email changes" });

export const UserCreate = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 128 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    name: Type.Optional(UserName),
    email: Type.Optional(UserEmail),
    email_verified: Type.Optional(EmailVerified),
  },
  { additionalProperties: false },
);

export const UserBody = Type.Object(
  {
    id: Type.String(),
    username: Type.String(),
    enabled: Type.Boolean(),
    name: nullable(Type.String()),
    email: nullable(Type.String()),
    email_verified: Type.Boolean(),
    created_at: Type.String(),
    updated_at: Type.String(),
  },
  { additionalProperties: false },
);

/** User ids are UUIDs (anything else is no user, and may hold bytes a database refuses). */
export const UserId = Type.Object({ id: Type.String({ format: "uuid", [EXPECTED]: "a UUID" }) });

export const UserQuery = Type.Object(
  {
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: "only the user with exactly this username" })),
    after: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: "the next_after of the previous page" })),
    limit: Type.Optional(Type.String({ description: "users per page, an integer from 1 to 500 (default 100)" })),
  },
  { additionalProperties: false },
);

export const UserPage = Type.Object(
  {
    users: Type.Array(UserBody),
    /** pass as `after` for the next page; null on the last page */
    next_after: nullable(Type.String()),
  },
  { additionalProperties: false },
);

export const UserPatch = Type.Object(
  {
    username: Type.Optional(UserCreate.properties.username),
    enabled: Type.Optional(Type.Boolean({ description: "false: no sign-in or refresh until enabled again" })),
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: "the new password, 8 to 1024 characters" })),
    name: Type.Optional(nullable(UserName)),
    email: Type.Optional(nullable(UserEmail)),
    email_verified: Type.Optional(EmailVerified),
  },
  { additionalProperties: false },
);

export const SessionBody = Type.Object(
  {
    id: Type.String({ description: "the refresh-token family" }),
    client_id: Type.String(),
    client_name: Type.String(),
    created_at: Type.String({ description: "when the user signed in" }),
    last_used_at: Type.String({ description: "the sign-in or the latest refresh" }),
    expires_at: Type.String({ description: "when it ends unless refreshed (idle or absolute lifetime)" }),
  },
  { additionalProperties: false },
);

export const SessionList = Type.Object({ sessions: Type.Array(SessionBody) }, { additionalProperties: false });

export const SessionsEnded = Type.Object({ sessions_ended: Type.Integer() }, { additionalProperties: false });

export const BrowserSessionBody = Type.Object(
  {
    id: Type.String({ description: "the browser session (its cookie value is never stored or shown)" }),
    auth_time: Type.String({ description: "when the user last typed the password in it" }),
    created_at: Type.String(),
    last_seen_at: Type.String({ description: "its latest use, to the minute" }),
    expires_at: Type.String({ description: "its absolute end (SESSION_TTL); it ends earlier after SESSION_IDLE_TTL unused" }),
  },
  { additionalProperties: false },
);

export const BrowserSessionList = Type.Object({ browser_sessions: Type.Array(BrowserSessionBody) }, { additionalProperties: false });

export const BrowserSessionsEnded = Type.Object({ browser_sessions_ended: Type.Integer() }, { additionalProperties: false });

/** The most events one page of GET /admin/audit holds. */
export const MAX_AUDIT_LIMIT = 500;

export const AuditQuery = Type.Object(
  {
    // query values are strings (no type coercion): 1 to 500 in digits
    limit: Type.Optional(Type.String({ pattern: "^([1-9][0-9]?|[1-4][0-9]{2}|500)$", [EXPECTED]: `an integer from 1 to ${MAX_AUDIT_LIMIT}` })),
    before: Type.Optional(Type.String({ pattern: "^[0-9]{1,10}$", [EXPECTED]: "an event id (a whole number)" })),
  },
  { additionalProperties: false },
);

export const AuditPage = Type.Object(
  {
    events: Type.Array(
      Type.Object(
        {
          id: Type.Integer(),
          at: Type.String(),
          actor: Type.String(),
          action: Type.String(),
          target: Type.String(),
          details: Type.Record(Type.String(), Type.Unknown()),
        },
        { additionalProperties: false },
      ),
    ),
    /** pass as `before` for the next (older) page; null on the last page */
    next_before: nullable(Type.Integer()),
  },
  { additionalProperties: false },
);

/** POST /admin/tokens/revoke: the token itself, or an access token's jti (with its exp when known). */
export const TokenRevocation = Type.Object(
  {
    token: Type.Optional(Type.String({ minLength: 1, maxLength: 16384 })),
    jti: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    exp: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);

export const TokenRevocationBody = Type.Object(
  {
    revoked: Type.Union([Type.Literal("access_token"), Type.Literal("refresh_family")]),
    client_id: nullable(Type.String()),
    jti: Type.Optional(Type.String()),
    expires_at: Type.Optional(Type.String()),
    family_id: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

/** A remembered consent (domain/authorization/grant-json.ts). */
export const GrantBody = Type.Object(
  {
    id: Type.String(),
    user_id: Type.String(),
    client_id: Type.String(),
    client_name: Type.String(),
    scope: Type.String({ description: "the scopes consented to, space-separated" }),
    audiences: Type.Array(Type.String(), { description: "the audiences consented to" }),
    created_at: Type.String(),
    updated_at: Type.String({ description: "the latest consent (a wider one updates it)" }),
  },
  { additionalProperties: false },
);

export const GrantList = Type.Object({ grants: Type.Array(GrantBody) }, { additionalProperties: false });

export const UserClientParams = Type.Object({ id: UserId.properties.id, clientId: ClientIdParams.properties.id });

export const GrantRevoked = Type.Object(
  {
    revoked: Type.String({ description: "the grant's id" }),
    refresh_families_revoked: Type.Integer(),
    access_tokens_revoked: Type.Integer({ description: "live access tokens issued under the grant, now blocklisted" }),
  },
  { additionalProperties: false },
);
