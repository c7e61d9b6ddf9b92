// The one error a verification fails with: it carries the RFC 6750 §3.1 error code and the HTTP
// status a resource server answers with, so that callers without Fastify can answer the same way.

/**
 * RFC 6750 §3.1 codes, plus `temporarily_unavailable` (RFC 6749 §4.1.2.1's name) for when the
 * authorization server's metadata, keys or status list cannot be fetched: that is not the token's
 * fault, so it is not `invalid_token` (a client would throw a good token away). And RFC 9449 §7.1's
 * `invalid_dpop_proof`: the token is fine, the DPoP proof sent with it is not.
 */
export type AccessTokenErrorCode = "invalid_request" | "invalid_token" | "invalid_dpop_proof" | "insufficient_scope" | "temporarily_unavailable";

const STATUS: Record<AccessTokenErrorCode, number> = {
  invalid_request: 400,
  invalid_token: 401,
  invalid_dpop_proof: 401,
  insufficient_scope: 403,
  temporarily_unavailable: 503,
};

export class AccessTokenError extends Error {
  override readonly name = "AccessTokenError";
  readonly code: AccessTokenErrorCode;
  /** The HTTP status RFC 6750 §3.1 gives the code (503 for temporarily_unavailable). */
  readonly status: number;
  /** For insufficient_scope: the scopes the resource needs (space-separated). */
  readonly scope: string | undefined;

  constructor(code: AccessTokenErrorCode, description: string, options: { cause?: unknown; scope?: string } = {}) {
    super(description, { cause: options.cause });
    this.code = code;
    this.status = STATUS[code];
    this.scope = options.scope;
  }
}
