// POST /token: pick the grant, check the (authenticated, clients/authenticate.ts) client may use it, run it.
import { InvalidDpopProof, UnauthorizedClient, UnsupportedGrantType } from "../errors/oauth.js";
import type { ClientRecord } from "../storage/clients.js";
import { GRANTS, PUBLIC_CLIENT_GRANTS, type DpopKey, type GrantDeps, type TokenParams } from "./grants/index.js";
import type { TokenResponse } from "./tokens/access-token.js";

export type TokenRequestDeps = GrantDeps;

export async function handleTokenRequest(deps: TokenRequestDeps, client: ClientRecord, params: TokenParams, dpop: DpopKey | null = null): Promise<TokenResponse> {
  const grant = GRANTS.get(params.grant_type);
  if (!grant) throw new UnsupportedGrantType("grant_type is not supported");
  // Registration refuses other grants for public clients (client-service.ts); checked here again, since
  // a public client proved nothing and must never get a token of its own or a user's password.
  if (!client.grantTypes.includes(grant.grantType) || (client.public && !PUBLIC_CLIENT_GRANTS.includes(grant.grantType))) {
    throw new UnauthorizedClient(`this client may not use grant_type ${grant.grantType}`);
  }
  // RFC 9449 §5.2 (dpop_bound_access_tokens): this client's tokens are always key-bound.
  if (client.dpopBoundAccessTokens && dpop === null) throw new InvalidDpopProof("this client must send a DPoP proof");
  return grant.handle({ client, params, dpop, deps });
}
