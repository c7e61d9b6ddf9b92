// Reads a token's Token Status List entry as a resource server would: the status claim's uri and
// idx, the list fetched, its JWT verified against the JWKS (jose), `lst` inflated, bit idx read.
import type { FastifyInstance } from "fastify";
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet, type JWTPayload } from "jose";
import { StatusList } from "../../src/domain/tokens/status-list.js";

export type StatusClaim = { idx: number; uri: string };

/** The access token's status claim; throws when it has none. */
export function statusClaimOf(accessToken: string): StatusClaim {
  const claim = (decodeJwt(accessToken).status as { status_list?: StatusClaim } | undefined)?.status_list;
  if (!claim) throw new Error("the access token has no status claim");
  return claim;
}

/** The verified Status List Token at `uri` (served by `app`), with its protected header. */
export async function fetchStatusList(app: FastifyInstance, uri: string): Promise<{ payload: JWTPayload; header: Record<string, unknown>; list: StatusList }> {
  const jwks = (await app.inject({ method: "GET", url: "/.well-known/jwks.json" })).json() as JSONWebKeySet;
  const res = await app.inject({ method: "GET", url: new URL(uri).pathname });
  if (res.statusCode !== 200) throw new Error(`GET ${uri} answered ${res.statusCode}: ${res.body}`);
  const { payload, protectedHeader } = await jwtVerify(res.body, createLocalJWKSet(jwks), { typ: "statuslist+jwt", subject: uri, currentDate: new Date(app.services.clock.now()) });
  const { bits, lst } = payload.status_list as { bits: 1; lst: string };
  return { payload, header: protectedHeader as Record<string, unknown>, list: StatusList.decode(lst, bits) };
}

/** The status (0 VALID, 1 INVALID) that `app`'s list shows for the token. */
export async function statusOf(app: FastifyInstance, accessToken: string): Promise<number> {
  const { idx, uri } = statusClaimOf(accessToken);
  return (await fetchStatusList(app, uri)).list.get(idx);
}
