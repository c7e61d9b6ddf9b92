// Random identifiers and secrets, their digests, and constant-time comparison.
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** base64url of `bytes` random bytes; 32 bytes = 256 bits, beyond guessing. */
export const randomToken = (bytes = 32): string => randomBytes(bytes).toString("base64url");

/** SHA-256 digest, base64url. Right for server-generated high-entropy values, never for passwords. */
export const sha256 = (value: string): string => createHash("sha256").update(value).digest("base64url");

/** HMAC-SHA256, base64url: a keyed digest, so a stolen table cannot be checked against guesses offline. */
export const keyedDigest = (key: Buffer, value: string): string => createHmac("sha256", key).update(value).digest("base64url");

/** Compares two strings without leaking, through timing, where they first differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  // Only lengths may leak, and they are public: every digest is 43 characters.
  if (left.length !== right.length) return false;
  return timingSafeEqual(left, right);
}
