// RFC 6749 §4.4: a client gets a token for itself, for one of its registered audiences.
import { selectAudience } from "../audience.js";
import { grantScope } from "../scope.js";
import { issueAccessToken, type TokenResponse } from "../tokens/access-token.js";
import type { GrantContext } from "./index.js";

export const grantType = "client_credentials";

export function handle({ client, params, dpop, deps }: GrantContext): Promise<TokenResponse> {
  const scope = grantScope(params.scope, client.scopes);
  const audience = selectAudience(params.resource, params.audience, client.audiences);
  return issueAccessToken(deps, { grantType, subject: client.id, client, scope, audience, jkt: dpop?.jkt ?? null });
}
