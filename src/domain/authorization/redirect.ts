// Answers sent to the client's redirect URI (RFC 6749 §4.1.2, RFC 9207): parameters appended to its
// query, which is kept (§3.1.2), with `iss` so the client knows which server answered.
import type { OAuthError } from "../../errors/oauth.js";
import type { AuthorizationRequest } from "./authorization-request.js";

export function redirectUrl(redirectUri: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.append(name, value);
  return url.href;
}

export const codeRedirect = (issuer: string, request: AuthorizationRequest, code: string): string =>
  redirectUrl(request.redirectUri, { code, state: request.state, iss: issuer });

export const errorRedirect = (issuer: string, redirectUri: string, state: string | undefined, error: OAuthError): string =>
  redirectUrl(redirectUri, { error: error.code, error_description: error.description, state, iss: issuer });
