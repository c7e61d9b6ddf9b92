// The one outside representation of a client: what the admin API answers and what `tessera clients
// … --json` prints. RFC 7591 §2 names where the RFC has one (client_id, client_name, grant_types,
// scope, token_endpoint_auth_method, jwks), snake_case for tessera's own fields, ISO 8601 dates.
import type { JsonWebKeySet } from "../../storage/clients.js";
import type { ClientView } from "./client-service.js";

export type TokenEndpointAuthMethod = "client_secret_basic" | "private_key_jwt" | "none";

export type ClientJson = {
  client_id: string;
  client_name: string;
  grant_types: string[];
  /** space-separated, as RFC 7591 §2 and RFC 6749 §3.3 spell a scope */
  scope: string;
  /** the resource servers its tokens may be for; the first is the default */
  audiences: string[];
  /**
   * Derived, not set: none for a public client, private_key_jwt for a client registered with keys,
   * otherwise client_secret_basic (RFC 7591's default; client_secret_post is accepted as well).
   */
  token_endpoint_auth_method: TokenEndpointAuthMethod;
  /** RFC 7591 §2: where the authorization code flow may redirect (exact match; loopback any port) */
  redirect_uris: string[];
  /** OpenID RP-Initiated Logout 1.0 §3.1: where /end-session may redirect afterwards (matched as redirect_uris) */
  post_logout_redirect_uris: string[];
  /** a public client: no secret, authenticates with client_id alone (authorization_code, refresh_token) */
  public: boolean;
  /** RFC 9449 §5.2: token requests need a DPoP proof, so its access tokens are always key-bound */
  dpop_bound_access_tokens: boolean;
  /** RFC 9126 §6: /authorize takes its requests only as a request_uri from /par */
  require_pushed_authorization_requests: boolean;
  jwks: JsonWebKeySet | null;
  /** access-token lifetime in seconds; null for the server's ACCESS_TOKEN_TTL */
  token_ttl: number | null;
  first_party: boolean;
  /** may introspect tokens issued for its audiences, not only its own */
  introspect: boolean;
  enabled: boolean;
  previous_secret_expires_at: string | null;
  created_at: string;
  updated_at: string;
};

/** A new client as registered: its secret, shown this once, unless it authenticates with keys. */
export type NewClientJson = { client_id: string; client_secret?: string } & ClientJson;

export type SecretRotationJson = { client_id: string; client_secret: string; previous_secret_expires_at: string | null };

const iso = (d: Date | null) => d?.toISOString() ?? null;

export function clientJson(c: ClientView): ClientJson {
  return {
    client_id: c.id,
    client_name: c.name,
    grant_types: c.grantTypes,
    scope: c.scopes.join(" "),
    audiences: c.audiences,
    token_endpoint_auth_method: c.public ? "none" : c.jwks ? "private_key_jwt" : "client_secret_basic",
    redirect_uris: c.redirectUris,
    post_logout_redirect_uris: c.postLogoutRedirectUris,
    public: c.public,
    dpop_bound_access_tokens: c.dpopBoundAccessTokens,
    require_pushed_authorization_requests: c.requirePushedAuthorizationRequests,
    jwks: c.jwks,
    token_ttl: c.tokenTtlSeconds,
    first_party: c.firstParty,
    introspect: c.canIntrospect,
    enabled: c.enabled,
    previous_secret_expires_at: iso(c.previousSecretExpiresAt),
    created_at: c.createdAt.toISOString(),
    updated_at: c.updatedAt.toISOString(),
  };
}

export function newClientJson(c: ClientView, clientSecret: string | null): NewClientJson {
  const { client_id, ...rest } = clientJson(c);
  return { client_id, ...(clientSecret !== null && { client_secret: clientSecret }), ...rest };
}

export function secretRotationJson(c: ClientView, clientSecret: string): SecretRotationJson {
  return { client_id: c.id, client_secret: clientSecret, previous_secret_expires_at: iso(c.previousSecretExpiresAt) };
}
