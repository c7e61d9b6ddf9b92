// Scope parsing and granting (RFC 6749 §3.3).
import { InvalidScope } from "../errors/oauth.js";

// scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export const isScopeToken = (value: string): boolean => SCOPE_TOKEN.test(value);

/** Space-delimited scope string → distinct tokens, in order. An empty string requests nothing. */
export function parseScope(raw: string): string[] {
  const tokens = raw.split(" ").filter((t) => t !== "");
  if (!tokens.every(isScopeToken)) throw new InvalidScope("scope contains characters outside RFC 6749 section 3.3");
  return [...new Set(tokens)];
}

/** The scope to grant: what was asked for, which must be allowed; when nothing was asked, all allowed. */
export function grantScope(requested: string | undefined, allowed: readonly string[]): string[] {
  const asked = requested === undefined ? [] : parseScope(requested);
  if (asked.length === 0) return [...allowed];
  const refused = asked.filter((s) => !allowed.includes(s));
  if (refused.length) throw new InvalidScope(`scope not allowed for this client: ${refused.join(" ")}`);
  return asked;
}
