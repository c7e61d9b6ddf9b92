// The checks of an RP-initiated logout request (OpenID RP-Initiated Logout 1.0 §2-§4), in order: each
// parameter at most once; the id_token_hint, if any, an ID token this server signed (expired is fine:
// §4 "SHOULD accept ID Tokens ... even when the exp time has passed"); client_id, if any, one of the
// hint's audiences; the client known; post_logout_redirect_uri registered for it, exactly. Any failure
// is a LogoutRefused: an error page, never a redirect (§3: "MUST NOT perform post-logout redirection").
import type { ClientRecord } from "../../storage/clients.js";
import type { Clock } from "../clock.js";
import type { KeyRing } from "../keys/key-ring.js";
import { ID_TOKEN_TYP } from "../tokens/id-token.js";
import type { RawParams } from "./authorization-request.js";

/** The request cannot be honoured as sent: shown to the user on a 400 page. */
export class LogoutRefused extends Error {}

export type EndSessionDeps = {
  issuer: string;
  clock: Clock;
  keys: Pick<KeyRing, "jwks">;
  clients: { get(id: string): ClientRecord | undefined };
  /** how long past its exp an id_token_hint is taken: a hint older than the longest browser session names none */
  hintToleranceSeconds: number;
};

/** Who the hint says signed in: the user (sub) and the browser session (sid) it was issued in. */
export type LogoutHint = { sub: string; sid: string | null };

export type EndSessionRequest = {
  hint: LogoutHint | null;
  client: ClientRecord | null;
  /** registered for the client; null: show the signed-out page instead */
  postLogoutRedirectUri: string | null;
  state: string | undefined;
};

const PARAMETERS = ["id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales", "logout_hint"] as const;

function single(params: RawParams): Partial<Record<(typeof PARAMETERS)[number], string>> {
  const out: Partial<Record<(typeof PARAMETERS)[number], string>> = {};
  for (const name of PARAMETERS) {
    const value = params[name];
    if (Array.isArray(value)) throw new LogoutRefused(`The parameter ${name} was given more than once.`);
    if (value !== undefined && value !== "") out[name] = value;
  }
  return out;
}

async function verifiedHint(deps: EndSessionDeps, token: string): Promise<{ hint: LogoutHint; audience: string[] }> {
  let claims;
  try {
    claims = await deps.keys.jwks.verify(token, {
      issuer: deps.issuer,
      typ: ID_TOKEN_TYP,
      now: new Date(deps.clock.now()),
      clockToleranceSeconds: deps.hintToleranceSeconds,
    });
  } catch {
    throw new LogoutRefused("The id_token_hint is not an ID token issued by this server.");
  }
  const audience = typeof claims.aud === "string" ? [claims.aud] : (claims.aud ?? []);
  if (typeof claims.sub !== "string" || audience.length === 0) throw new LogoutRefused("The id_token_hint is not an ID token issued by this server.");
  return { hint: { sub: claims.sub, sid: typeof claims.sid === "string" ? claims.sid : null }, audience };
}

export async function checkEndSessionRequest(deps: EndSessionDeps, params: RawParams): Promise<EndSessionRequest> {
  const p = single(params);
  const verified = p.id_token_hint === undefined ? null : await verifiedHint(deps, p.id_token_hint);
  if (verified && p.client_id !== undefined && !verified.audience.includes(p.client_id)) {
    throw new LogoutRefused("The client_id does not match the application the id_token_hint was issued to.");
  }
  // The hint names its client when it has one audience; with several, client_id must say which.
  const clientId = p.client_id ?? (verified?.audience.length === 1 ? verified.audience[0] : undefined);
  const client = clientId === undefined ? null : (deps.clients.get(clientId) ?? null);
  if (clientId !== undefined && (!client || !client.enabled)) throw new LogoutRefused("The application that asked to sign you out is not known here.");
  let postLogoutRedirectUri: string | null = null;
  if (p.post_logout_redirect_uri !== undefined) {
    if (!client) throw new LogoutRefused("The post_logout_redirect_uri cannot be checked without client_id or id_token_hint.");
    // Exactly as registered (§3.1): no loopback-port leeway, no normalisation.
    if (!client.postLogoutRedirectUris.includes(p.post_logout_redirect_uri)) {
      throw new LogoutRefused("The post_logout_redirect_uri is not registered for this application.");
    }
    postLogoutRedirectUri = p.post_logout_redirect_uri;
  }
  return { hint: verified?.hint ?? null, client, postLogoutRedirectUri, state: p.state };
}
