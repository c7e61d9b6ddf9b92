// Assertions shared by route tests: the shape of an RFC 6749 §5.2 error answer.
import type { Test } from "tap";

export const FORM = { "content-type": "application/x-www-form-urlencoded" };

// RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
const DESCRIPTION_CHARS = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;

export type ErrorAnswer = { statusCode: number; headers: Record<string, string | string[] | number | undefined>; body: string };

/** An RFC 6749 §5.2 error answer: status, exact body shape, no-store, and a Basic challenge with 401. */
export function expectOAuthError(t: Test, res: ErrorAnswer, status: number, error: string): void {
  t.equal(res.statusCode, status, "status");
  t.equal(res.headers["cache-control"], "no-store", "cache-control: no-store");
  t.match(res.headers["content-type"], /^application\/json/, "JSON body");
  let body: Record<string, unknown> = {};
  t.doesNotThrow(() => (body = JSON.parse(res.body)), "body is JSON");
  t.equal(body.error, error, "error code");
  t.same(Object.keys(body).filter((k) => k !== "error" && k !== "error_description"), [], "only error and error_description");
  if ("error_description" in body) {
    t.type(body.error_description, "string", "error_description is a string");
    t.match(body.error_description, DESCRIPTION_CHARS, "error_description keeps to RFC 6749 §5.2 characters");
  }
  if (status === 401) t.match(res.headers["www-authenticate"], /^Basic(?: |$)/, "WWW-Authenticate: Basic challenge");
}
