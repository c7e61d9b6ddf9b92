// Authorization codes for /token tests, made by the real domain function (authorization/code.ts) as
// /authorize makes them: a grant (consent) recorded first, then the code bound to it.
import { randomBytes, randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { s256CodeChallenge } from "../../src/crypto/pkce.js";
import { issueAuthorizationCode, type CodeBinding } from "../../src/domain/authorization/code.js";

/** A fresh RFC 7636 code_verifier: 32 random bytes, base64url (43 characters). */
export const newVerifier = (): string => randomBytes(32).toString("base64url");

export type IssuedCode = { code: string; verifier: string; grantId: string; sessionId: string };

/**
 * A code for `userId` at `clientId`, with the user's consent to `scope` and `audience` recorded.
 * `binding` overrides any bound value (redirectUriSent defaults to true).
 */
export async function issueCode(
  app: FastifyInstance,
  userId: string,
  clientId: string,
  binding: Partial<CodeBinding> & { redirectUri: string; audience: string[] },
): Promise<IssuedCode> {
  const verifier = newVerifier();
  const scope = binding.scope ?? [];
  const grantId = binding.grantId ?? (await app.services.grants.recordConsent({ userId, clientId, scope, audience: binding.audience }));
  const sessionId = binding.sessionId ?? randomUUID();
  const code = await issueAuthorizationCode(app.services, {
    clientId,
    userId,
    grantId,
    sessionId,
    redirectUriSent: true,
    codeChallenge: s256CodeChallenge(verifier),
    scope,
    authTime: new Date(app.services.clock.now()),
    ...binding,
  });
  return { code, verifier, grantId, sessionId };
}
