// RFC 6749 §4.3, for first-party clients only: the user's password goes to tessera's own apps.
import { InvalidRequest, UnauthorizedClient } from "../../errors/oauth.js";
import { selectAudience } from "../audience.js";
import { grantScope } from "../scope.js";
import type { TokenResponse } from "../tokens/access-token.js";
import type { GrantContext } from "./index.js";

export const grantType = "password";

export async function handle({ client, params, dpop, deps }: GrantContext): Promise<TokenResponse> {
  if (!client.firstParty) throw new UnauthorizedClient("the password grant is for first-party clients only");
  if (params.username === undefined || params.password === undefined) {
    throw new InvalidRequest("username and password are required");
  }
  const scope = grantScope(params.scope, client.scopes);
  const audience = selectAudience(params.resource, params.audience, client.audiences);
  const user = await deps.users.authenticate(params.username, params.password);
  return deps.refreshTokens.startSession({ grantType, client, user, scope, audience, jkt: dpop?.jkt ?? null });
}
