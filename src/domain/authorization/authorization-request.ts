// The authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, OpenID Connect Core §3.1.2.1) once
// /authorize has checked it: what the sign-in and consent pages carry from form to form (sealed,
// interaction.ts) and what the code is bound to.

/**
 * The parameters /authorize reads (and POST /par takes): RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 8707,
 * OpenID Connect Core §3.1.2.1, RFC 9449 §10 (dpop_jkt) and RFC 9126 §4 (request_uri).
 */
export const AUTHORIZATION_PARAMETERS = [
  "response_type", "client_id", "redirect_uri", "state", "scope", "resource", "audience", "code_challenge", "code_challenge_method",
  "nonce", "prompt", "max_age", "login_hint", "dpop_jkt", "request_uri",
] as const;

export const PROMPTS = ["none", "login", "consent"] as const;
export type Prompt = (typeof PROMPTS)[number];

export type AuthorizationRequest = {
  clientId: string;
  /** the effective redirect URI: the one sent, or the client's only one */
  redirectUri: string;
  /** the request named it: the code exchange must then repeat it (RFC 6749 §4.1.3) */
  redirectUriSent: boolean;
  state?: string;
  scope: string[];
  audience: string[];
  codeChallenge: string;
  nonce?: string;
  prompt: Prompt[];
  /** seconds since the user last typed a password beyond which they must type it again */
  maxAge?: number;
  loginHint?: string;
  /** RFC 9449 §10: the JWK thumbprint of the DPoP key the code is bound to */
  dpopJkt?: string;
};

/** Raw parameters as the query string or form body gave them: a repeated one is an array. */
export type RawParams = Record<string, string | string[] | undefined>;
