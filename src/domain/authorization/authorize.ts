// What /authorize does next for a checked request: ask for the password (sign-in page), ask for
// consent (consent page), or redirect to the client with a code. Rules (SPEC "Authorization code
// with PKCE", OpenID Connect Core §3.1.2.1):
// - no live session of an enabled user, prompt=login not yet answered in this interaction, or a
//   password typed longer ago than max_age → sign-in (prompt=none: login_required);
// - a third-party client without a remembered consent covering the scopes and audience, or
//   prompt=consent → consent page (prompt=none: consent_required); first-party clients never ask;
// - else a code, bound to the request, the user, the grant and the session.
import { AccessDenied, ConsentRequired, LoginRequired } from "../../errors/oauth.js";
import type { ClientRecord } from "../../storage/clients.js";
import type { ClientRegistry } from "../clients/client-registry.js";
import type { Clock } from "../clock.js";
import type { UserView } from "../users/user-service.js";
import type { BrowserSession, SessionWithGrant, SignedInSession } from "./browser-session.js";
import { issueAuthorizationCode, type AuthorizationCodeDeps } from "./code.js";
import { covers, type ConsentService } from "./consent.js";
import { InteractionRefused, type Interaction } from "./interaction.js";
import { codeRedirect, errorRedirect } from "./redirect.js";

export type AuthorizeDeps = {
  issuer: string;
  clock: Clock;
  clients: ClientRegistry;
  grants: ConsentService;
  codes: AuthorizationCodeDeps;
};

export type Step =
  | { step: "sign-in"; client: ClientRecord }
  | { step: "consent"; client: ClientRecord; user: UserView }
  | { step: "redirect"; location: string };

/** The client of the interaction, if it is still enabled for the code flow (it may have changed since). */
export function clientOf(deps: AuthorizeDeps, interaction: Interaction): ClientRecord {
  const client = deps.clients.get(interaction.request.clientId);
  if (!client?.enabled || !client.grantTypes.includes("authorization_code")) throw new InteractionRefused("the application is no longer registered here");
  return client;
}

/**
 * The session's user (read with the session) when enabled; null when disabled (the session then
 * counts for nothing). A deleted user's sessions go with the user's row, so a session always has its user.
 */
const userOf = (session: SignedInSession): UserView | null => (session.user.enabled ? session.user : null);

function mustSignIn(deps: AuthorizeDeps, interaction: Interaction, session: BrowserSession): boolean {
  const { request } = interaction;
  const authMs = session.authTime.getTime();
  if (request.prompt.includes("login") && authMs < interaction.startedAt) return true;
  return request.maxAge !== undefined && deps.clock.now() - authMs > request.maxAge * 1000;
}

/**
 * The next step for `interaction` in a browser whose live session (if any) is `session`.
 * `justSignedIn`: the password was typed in this very request, which answers prompt=login and
 * max_age whatever the clocks of the instances that began the interaction and took the form say.
 */
export async function nextStep(
  deps: AuthorizeDeps,
  interaction: Interaction,
  session: SignedInSession | SessionWithGrant | null,
  justSignedIn = false,
): Promise<Step> {
  const { request } = interaction;
  const client = clientOf(deps, interaction);
  const user = session && userOf(session);
  if (!session || !user || (!justSignedIn && mustSignIn(deps, interaction, session))) {
    if (request.prompt.includes("none")) throw new LoginRequired("the user is not signed in");
    return { step: "sign-in", client };
  }
  // Read with the session when it came from /authorize (covers refuses a revoked one); else now.
  const grant = "grant" in session && session.grant.clientId === client.id ? session.grant.record : await deps.grants.findGrant(user.id, client.id);
  const covered = covers(grant, request.scope, request.audience);
  if (!client.firstParty && (!covered || request.prompt.includes("consent"))) {
    if (request.prompt.includes("none")) throw new ConsentRequired("the user has not consented to this request");
    return { step: "consent", client, user };
  }
  const grantId = covered ? grant!.id : await deps.grants.recordConsent({ userId: user.id, clientId: client.id, scope: request.scope, audience: request.audience }, new Date(deps.clock.now()));
  return { step: "redirect", location: await issueCode(deps, interaction, session, user.id, grantId) };
}

/** The consent page's "allow": the consent is remembered (widening an earlier one), then the code. */
export async function allow(deps: AuthorizeDeps, interaction: Interaction, session: BrowserSession): Promise<Step> {
  const { request } = interaction;
  const client = clientOf(deps, interaction);
  const grantId = await deps.grants.recordConsent({ userId: session.userId, clientId: client.id, scope: request.scope, audience: request.audience }, new Date(deps.clock.now()));
  return { step: "redirect", location: await issueCode(deps, interaction, session, session.userId, grantId) };
}

/** The consent page's "deny": access_denied to the client (RFC 6749 §4.1.2.1). */
export const deny = (deps: AuthorizeDeps, interaction: Interaction): Step => ({
  step: "redirect",
  location: errorRedirect(deps.issuer, interaction.request.redirectUri, interaction.request.state, new AccessDenied("the user denied the request")),
});

async function issueCode(deps: AuthorizeDeps, interaction: Interaction, session: BrowserSession, userId: string, grantId: string): Promise<string> {
  const { request } = interaction;
  const code = await issueAuthorizationCode(deps.codes, {
    clientId: request.clientId,
    userId,
    grantId,
    sessionId: session.id,
    redirectUri: request.redirectUri,
    redirectUriSent: request.redirectUriSent,
    codeChallenge: request.codeChallenge,
    scope: request.scope,
    audience: request.audience,
    ...(request.nonce !== undefined && { nonce: request.nonce }),
    ...(request.dpopJkt !== undefined && { dpopJkt: request.dpopJkt }),
    authTime: session.authTime,
  });
  return codeRedirect(deps.issuer, request, code);
}
