// Form bodies (application/x-www-form-urlencoded) as OAuth reads them.
import { parse } from "fast-querystring";

/**
 * RFC 6749 §3.1: "Parameters sent without a value MUST be treated as if they were omitted from the
 * request." A repeated parameter stays an array, so that schema validation refuses it.
 */
export function parseForm(body: string): Record<string, string | string[]> {
  const params = parse(body) as Record<string, string | string[]>;
  for (const [key, value] of Object.entries(params)) {
    const given = [value].flat().filter((v) => v !== "");
    if (given.length === 0) delete params[key];
    else params[key] = given.length === 1 ? given[0]! : given;
  }
  return params;
}
