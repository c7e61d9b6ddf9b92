// Which audience a token is for (RFC 8707 resource indicators, or the `audience` parameter).
import { InvalidRequest, InvalidTarget } from "../errors/oauth.js";

/**
 * Every requested value must be one the client is registered for (else invalid_target); with none
 * requested, the client's default (first) audience. Returns the token's `aud`.
 */
export function selectAudience(
  resource: string | string[] | undefined,
  audience: string | undefined,
  registered: readonly string[],
): string | string[] {
  if (resource !== undefined && audience !== undefined) {
    throw new InvalidRequest("use either resource or audience, not both");
  }
  const asked = resource === undefined ? (audience === undefined ? [] : [audience]) : [resource].flat();
  if (asked.length === 0) {
    const fallback = registered[0];
    if (fallback === undefined) throw new InvalidTarget("client has no registered audience");
    return fallback;
  }
  for (const value of asked) {
    if (resource !== undefined && value.includes("#")) throw new InvalidTarget("resource must not contain a fragment (RFC 8707 section 2)");
    if (!registered.includes(value)) throw new InvalidTarget("requested audience is not registered for this client");
  }
  const distinct = [...new Set(asked)];
  return distinct.length === 1 ? distinct[0]! : distinct;
}
