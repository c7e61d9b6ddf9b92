// The first-party browser flow: /login, /refresh and /logout. No client secret here (a browser
// cannot keep one): the client must be registered as first-party, and the refresh token, kept in an
// HttpOnly cookie, is what proves the session.
import { InvalidClient, InvalidGrant, UnauthorizedClient } from "../errors/oauth.js";
import { selectAudience } from "./audience.js";
import type { ClientRegistry } from "./clients/client-registry.js";
import type { TokenResponse } from "./tokens/access-token.js";
import type { RefreshTokenService } from "./tokens/refresh-token-service.js";
import type { UserService } from "./users/user-service.js";

export type FirstPartyDeps = { clients: ClientRegistry; users: UserService; refreshTokens: RefreshTokenService };

export type LoginRequest = { username: string; password: string; client_id: string };

// 400, not 401: /login has no HTTP authentication, and a Basic challenge would make a browser pop up
// its own sign-in dialog (see InvalidClient).
const unknownClient = () => new InvalidClient("unknown client", { status: 400 });

export async function login(deps: FirstPartyDeps, request: LoginRequest): Promise<TokenResponse> {
  const client = deps.clients.get(request.client_id);
  if (!client?.enabled) throw unknownClient();
  if (!client.firstParty || !client.grantTypes.includes("password")) {
    throw new UnauthorizedClient("sign-in is for first-party clients registered for the password grant");
  }
  const audience = selectAudience(undefined, undefined, client.audiences);
  const user = await deps.users.authenticate(request.username, request.password);
  try {
    return await deps.refreshTokens.startSession({ grantType: "login", client, user, scope: client.scopes, audience });
  } catch (e) {
    // The client was deleted while the password was checked (or on another instance, before this
    // one's registry reloaded): the same answer as an unknown client.
    if (e instanceof InvalidClient) throw unknownClient();
    throw e;
  }
}

export function refresh(deps: FirstPartyDeps, presented: string): Promise<TokenResponse> {
  return deps.refreshTokens.rotate(presented, (family) => {
    const client = deps.clients.get(family.clientId);
    // Without client authentication only a browser sign-in (/login) rotates here; a confidential
    // client's family (password grant at /token) must authenticate at /token (RFC 6749 §6).
    if (!family.viaLogin || !client?.enabled || !client.firstParty || !client.grantTypes.includes("refresh_token")) {
      throw new InvalidGrant("refresh token is invalid");
    }
    return client;
  });
}

export async function logout(deps: FirstPartyDeps, presented: string | undefined): Promise<void> {
  if (presented !== undefined) await deps.refreshTokens.revokeFamilyOf(presented, "logout");
}
