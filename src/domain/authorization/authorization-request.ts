// The authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, OpenID Connect Core §3.1.2.1) once
// /authorize has checked it: what the sign-in and consent pages carry from form to form (sealed,
// interaction.ts) and what the code is bound to.

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
};

/** Raw parameters as the query string or form body gave them: a repeated one is an array. */
export type RawParams = Record<string, string | string[] | undefined>;
