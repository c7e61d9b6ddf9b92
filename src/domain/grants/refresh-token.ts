// RFC 6749 §6: a new pair for a refresh token, which rotates (see refresh-token-service.ts).
import { InvalidGrant, InvalidRequest } from "../../errors/oauth.js";
import { selectAudience } from "../audience.js";
import { grantScope } from "../scope.js";
import type { TokenResponse } from "../tokens/access-token.js";
import type { GrantContext } from "./index.js";

export const grantType = "refresh_token";

export function handle({ client, params, dpop, deps }: GrantContext): Promise<TokenResponse> {
  const { refresh_token: presented, scope, resource, audience } = params;
  if (presented === undefined) throw new InvalidRequest("refresh_token is required");
  return deps.refreshTokens.rotate(
    presented,
    (family) => {
      // Not the client it was issued to: refused, and the token stays usable by its owner.
      if (family.clientId !== client.id) throw new InvalidGrant("refresh token is invalid");
      // RFC 9449 §5: a public client's family is bound to the key its first proof showed; without a
      // proof of that key, refused, and (as above) left usable: a stolen bound token is no threat.
      if (family.dpopJkt !== null && family.dpopJkt !== dpop?.jkt) throw new InvalidGrant("refresh token is bound to another DPoP key");
      return client;
    },
    // A narrower scope for this access token only; asking for more is invalid_scope.
    scope === undefined ? undefined : (original) => grantScope(scope, original),
    // RFC 8707 §2.2: resource (or audience) narrows this access token to audiences the grant had;
    // any other is invalid_target, and the refresh token keeps every audience of the grant.
    resource === undefined && audience === undefined ? undefined : (original) => selectAudience(resource, audience, original),
    // The new access token is bound to this request's key (a confidential client's family is not).
    dpop?.jkt ?? null,
  );
}
