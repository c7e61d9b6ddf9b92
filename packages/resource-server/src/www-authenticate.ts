// The `WWW-Authenticate: Bearer …` challenge of RFC 6750 §3.

export type Challenge = { realm?: string; error?: string; description?: string; scope?: string };

// RFC 6750 §3: error_description and scope values may not hold `"` or `\` (nor controls), so the
// values are made safe instead of escaped.
const quoted = (value: string) => `"${value.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, "?")}"`;

export function bearerChallenge({ realm, error, description, scope }: Challenge): string {
  const params: string[] = [];
  if (realm !== undefined) params.push(`realm=${quoted(realm)}`);
  if (error !== undefined) params.push(`error=${quoted(error)}`);
  if (description !== undefined) params.push(`error_description=${quoted(description)}`);
  if (scope !== undefined) params.push(`scope=${quoted(scope)}`);
  return params.length === 0 ? "Bearer" : `Bearer ${params.join(", ")}`;
}
