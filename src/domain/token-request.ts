// POST /token: pick the grant, check the (authenticated, clients/authenticate.ts) client may use it, run it.
import { UnauthorizedClient, UnsupportedGrantType } from "../errors/oauth.js";
import type { ClientRecord } from "../storage/clients.js";
import { GRANTS, type GrantDeps, type TokenParams } from "./grants/index.js";
import type { TokenResponse } from "./tokens/access-token.js";

export type TokenRequestDeps = GrantDeps;

export async function handleTokenRequest(deps: TokenRequestDeps, client: ClientRecord, params: TokenParams): Promise<TokenResponse> {
  const grant = GRANTS.get(params.grant_type);
  if (!grant) throw new UnsupportedGrantType("grant_type is not supported");
  if (!client.grantTypes.includes(grant.grantType)) {
    throw new UnauthorizedClient(`this client may not use grant_type ${grant.grantType}`);
  }
  return grant.handle({ client, params, deps });
}
