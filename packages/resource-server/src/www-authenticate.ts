// The `WWW-Authenticate` challenges: `Bearer …` (RFC 6750 §3) and `DPoP …` (RFC 9449 §7.1, the same
// parameters plus `algs`, the proof algorithms accepted).

export type Challenge = { realm?: string; error?: string; description?: string; scope?: string };

// RFC 6750 §3: error_description and scope values may not hold `"` or `\` (nor controls), so the
// values are made safe instead of escaped.
const quoted = (value: string) => `"${value.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, "?")}"`;

function params({ realm, error, description, scope }: Challenge): string[] {
  const list: string[] = [];
  if (realm !== undefined) list.push(`realm=${quoted(realm)}`);
  if (error !== undefined) list.push(`error=${quoted(error)}`);
  if (description !== undefined) list.push(`error_description=${quoted(description)}`);
  if (scope !== undefined) list.push(`scope=${quoted(scope)}`);
  return list;
}

export function bearerChallenge(challenge: Challenge): string {
  const list = params(challenge);
  return list.length === 0 ? "Bearer" : `Bearer ${list.join(", ")}`;
}

export function dpopChallenge(challenge: Challenge & { algs: readonly string[] }): string {
  return `DPoP ${[...params(challenge), `algs=${quoted(challenge.algs.join(" "))}`].join(", ")}`;
}
