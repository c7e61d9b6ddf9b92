// RFC 6749 §6: a new pair for a refresh token, which rotates (see refresh-token-service.ts).
import { InvalidGrant, InvalidRequest } from "../../errors/oauth.js";
import { selectAudience } from "../audience.js";
import { grantScope } from "../scope.js";
import type { TokenResponse } from "../tokens/access-token.js";
import type { GrantContext } from "./index.js";

export const grantType = "refresh_token";

export function handle({ client, params, deps }: GrantContext): Promise<TokenResponse> {
  const { refresh_token: presented, scope, resource, audience } = params;
  if (presented === undefined) throw new InvalidRequest("refresh_token is required");
  return deps.refreshTokens.rotate(
    presented,
    (family) => {
      // Not the client it was issued to: refused, and the token stays usable by its owner.
      if (family.clientId !== client.id) throw new InvalidGrant("refresh token is invalid");
      return client;
    },
    // A narrower scope for this access token only; asking for more is invalid_scope.
    scope === undefined ? undefined : (original) => grantScope(scope, original),
    // RFC 8707 §2.2: resource (or audience) narrows this access token to audiences the grant had;
    // any other is invalid_target, and the refresh token keeps every audience of the grant.
    resource === undefined && audience === undefined ? undefined : (original) => selectAudience(resource, audience, original),
  );
}
