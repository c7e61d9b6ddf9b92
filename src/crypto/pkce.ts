// PKCE (RFC 7636): the S256 code challenge of a code verifier, and the verifier's syntax.
import { createHash } from "node:crypto";

// RFC 7636 §4.1: code-verifier = 43*128unreserved, unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

/** True if `value` is a syntactically valid code_verifier (RFC 7636 §4.1). */
export const isCodeVerifier = (value: string): boolean => CODE_VERIFIER.test(value);

/** RFC 7636 §4.2 S256: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))). */
export const s256CodeChallenge = (codeVerifier: string): string => createHash("sha256").update(codeVerifier, "ascii").digest("base64url");
