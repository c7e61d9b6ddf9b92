// POST /introspect (RFC 7662). Anything not active, or not the requester's to see, is exactly
// {"active": false}: the answer never tells why.
import type { ClientRecord } from "../../storage/clients.js";
import { findToken, mayIntrospect, type TokenStateDeps } from "./token-state.js";

export type IntrospectionResponse =
  | { active: false }
  | {
      active: true;
      scope?: string;
      client_id: string;
      sub: string;
      aud: string | string[];
      iss: string;
      exp: number;
      iat: number;
      jti?: string;
      /** RFC 7662 §2.2: the token type of RFC 6749 §7.1 ("Bearer", or "DPoP" for a key-bound one); a refresh token has none */
      token_type?: "Bearer" | "DPoP";
      /** RFC 9449 §6.2: the key a DPoP-bound access token is bound to, for the resource server to check the proof against */
      cnf?: { jkt: string };
    };

export type IntrospectionDeps = TokenStateDeps;

const INACTIVE = { active: false } as const;
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

export async function introspect(
  deps: IntrospectionDeps,
  /** the authenticated requester (clients/authenticate.ts) */
  requester: ClientRecord,
  token: string,
  hint?: string,
): Promise<IntrospectionResponse> {
  const found = await findToken(deps, token, hint);
  if (!found?.active || !mayIntrospect(requester, found)) return INACTIVE;
  if (found.type === "access_token") {
    const { iss, sub, aud, client_id, scope, iat, exp, jti, cnf } = found.claims;
    const jkt = typeof cnf?.jkt === "string" ? cnf.jkt : null; // a bound token we signed always has it right; check anyway
    return {
      active: true,
      ...(scope && { scope }),
      client_id, sub, aud, iss, exp, iat, jti,
      token_type: jkt ? "DPoP" : "Bearer",
      ...(jkt && { cnf: { jkt } }),
    };
  }
  const { record } = found;
  const scope = record.scope.join(" ");
  return {
    active: true,
    ...(scope && { scope }),
    client_id: record.family.clientId,
    sub: record.family.userId,
    aud: record.audience.length === 1 ? record.audience[0]! : record.audience,
    iss: deps.config.issuer,
    exp: seconds(record.expiresAt),
    iat: seconds(record.issuedAt),
  };
}
