// One class per OAuth error code (RFC 6749 §5.2, RFC 7009 §2.2.1, RFC 8707 §2, RFC 6750 §3.1, RFC 9449 §12.2).
// Domain code throws these; only src/http/plugins/error-handler.ts turns them into responses.

export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "invalid_scope"
  | "invalid_target"
  | "unsupported_token_type"
  | "invalid_token"
  | "insufficient_scope"
  | "temporarily_unavailable"
  | "slow_down"
  | "server_error"
  // RFC 6749 §4.1.2.1 and OpenID Connect Core §3.1.2.6: errors of /authorize, sent by redirect
  | "unsupported_response_type"
  | "access_denied"
  | "login_required"
  | "consent_required"
  // RFC 9101 §7 (and RFC 9126 §4): a request_uri that names no usable pushed request
  | "invalid_request_uri"
  // RFC 7591 §3.2.2: the admin API's answer to bad client metadata (ValidationError's code)
  | "invalid_client_metadata"
  | "invalid_redirect_uri"
  // RFC 9449 §5, §8: a DPoP proof that fails a check of §4.3, and a proof without the server's nonce
  | "invalid_dpop_proof"
  | "use_dpop_nonce";

export abstract class OAuthError extends Error {
  abstract readonly code: OAuthErrorCode;
  abstract readonly status: number;
  readonly description: string | undefined;
  /** a WWW-Authenticate value other than the code's usual one (RFC 6750 §3 cases) */
  readonly challenge: string | undefined;

  constructor(description?: string, options?: { cause?: unknown; challenge?: string }) {
    super(description, options);
    this.description = description;
    this.challenge = options?.challenge;
  }

  override get name(): string {
    return this.constructor.name;
  }
}

export class InvalidRequest extends OAuthError {
  readonly code = "invalid_request";
  readonly status = 400;
}

/** RFC 9126 §2.3: an endpoint that takes POST only, asked with another method (the route sets Allow). */
export class MethodNotAllowed extends OAuthError {
  readonly code = "invalid_request";
  readonly status = 405;
}

/**
 * 401 with a Basic challenge wherever a client may authenticate with HTTP Basic (RFC 6749 §5.2; RFC
 * 9110 wants a challenge with every 401). 400 where it cannot, as at /login, which names its client in
 * a JSON body: a Basic challenge there makes a browser pop up its own password dialog.
 */
export class InvalidClient extends OAuthError {
  readonly code = "invalid_client";
  readonly status: 400 | 401;

  constructor(description?: string, options?: { cause?: unknown; challenge?: string; status?: 400 | 401 }) {
    super(description, options);
    this.status = options?.status ?? 401;
  }
}

export class InvalidGrant extends OAuthError {
  readonly code = "invalid_grant";
  readonly status = 400;
}

export class UnauthorizedClient extends OAuthError {
  readonly code = "unauthorized_client";
  readonly status = 400;
}

export class UnsupportedGrantType extends OAuthError {
  readonly code = "unsupported_grant_type";
  readonly status = 400;
}

export class InvalidScope extends OAuthError {
  readonly code = "invalid_scope";
  readonly status = 400;
}

export class InvalidTarget extends OAuthError {
  readonly code = "invalid_target";
  readonly status = 400;
}

export class InvalidToken extends OAuthError {
  readonly code = "invalid_token";
  readonly status = 401;
}

export class InsufficientScope extends OAuthError {
  readonly code = "insufficient_scope";
  readonly status = 403;
}

export class TemporarilyUnavailable extends OAuthError {
  readonly code = "temporarily_unavailable";
  readonly status = 503;
}

/** 429 for rate limits and sign-in back-off. slow_down is the registered OAuth code for "too often"
 *  (RFC 8628 §3.5); Retry-After says when to come back. */
export class SlowDown extends OAuthError {
  readonly code = "slow_down";
  readonly status = 429;
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number, description = "too many requests") {
    super(description);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

// Errors of the authorization endpoint. They reach the client as parameters of a redirect to its
// redirect URI (RFC 6749 §4.1.2.1), never as a JSON body; the status is what a JSON answer would have.

export class UnsupportedResponseType extends OAuthError {
  readonly code = "unsupported_response_type";
  readonly status = 400;
}

export class AccessDenied extends OAuthError {
  readonly code = "access_denied";
  readonly status = 403;
}

/** prompt=none, and no one is signed in (OpenID Connect Core §3.1.2.6). */
export class LoginRequired extends OAuthError {
  readonly code = "login_required";
  readonly status = 400;
}

/** prompt=none, and the user has not consented to what is asked (OpenID Connect Core §3.1.2.6). */
export class ConsentRequired extends OAuthError {
  readonly code = "consent_required";
  readonly status = 400;
}

/** A request_uri that names no usable pushed request: unknown, expired, used or another client's (RFC 9101 §7). */
export class InvalidRequestUri extends OAuthError {
  readonly code = "invalid_request_uri";
  readonly status = 400;
}

/** A DPoP proof failed a check of RFC 9449 §4.3 (at /token: a JSON 400, §5; at /userinfo: 401 with a DPoP challenge, §7.1). */
export class InvalidDpopProof extends OAuthError {
  readonly code = "invalid_dpop_proof";
  readonly status: 400 | 401;

  constructor(description?: string, options?: { cause?: unknown; challenge?: string; status?: 400 | 401 }) {
    super(description, options);
    this.status = options?.status ?? 400;
  }
}

/** RFC 9449 §8: the proof lacks the server's current nonce; the answer's DPoP-Nonce header gives one. */
export class UseDpopNonce extends OAuthError {
  readonly code = "use_dpop_nonce";
  readonly status: 400 | 401;

  constructor(description?: string, options?: { cause?: unknown; challenge?: string; status?: 400 | 401 }) {
    super(description, options);
    this.status = options?.status ?? 400;
  }
}
