// POST /token: pick the grant, authenticate the client, check it may use the grant, run it.
import { UnauthorizedClient, UnsupportedGrantType } from "../errors/oauth.js";
import { authenticateClient, type ClientAuthDeps, type ClientCredentials } from "./clients/authenticate.js";
import { GRANTS, type GrantDeps, type TokenParams } from "./grants/index.js";
import type { TokenResponse } from "./tokens/access-token.js";

export type TokenRequestDeps = GrantDeps & ClientAuthDeps;

export async function handleTokenRequest(deps: TokenRequestDeps, credentials: ClientCredentials, params: TokenParams): Promise<TokenResponse> {
  const grant = GRANTS.get(params.grant_type);
  if (!grant) throw new UnsupportedGrantType("grant_type is not supported");
  const client = await authenticateClient(deps, credentials);
  if (!client.grantTypes.includes(grant.grantType)) {
    throw new UnauthorizedClient(`this client may not use grant_type ${grant.grantType}`);
  }
  return grant.handle({ client, params, deps });
}
