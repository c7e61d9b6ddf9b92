// Client authentication: a shared secret (client_secret_basic, client_secret_post, RFC 6749 §2.3.1)
// or a signed assertion (private_key_jwt, RFC 7523 §2.2 and §3).
import type { Config } from "../../config/schema.js";
import { unverifiedClaims, verifyClientAssertion } from "../../crypto/jwt.js";
import { constantTimeEqual, sha256 } from "../../crypto/secrets.js";
import { InvalidClient } from "../../errors/oauth.js";
import type { ClientRecord } from "../../storage/clients.js";
import type { UsedClientAssertionRepository } from "../../storage/used-client-assertions.js";
import type { Clock } from "../clock.js";
import type { ClientRegistry } from "./client-registry.js";

/** The JWS algorithms a private_key_jwt assertion may use: what the verifier accepts, as advertised. */
export { CLIENT_ASSERTION_ALGS } from "../../crypto/jwt.js";

export type ClientAuthMethod = "client_secret_basic" | "client_secret_post" | "private_key_jwt" | "none";
export type ClientCredentials =
  | { method: "client_secret_basic" | "client_secret_post"; clientId: string; secret: string }
  | { method: "none"; clientId: string }
  | { method: "private_key_jwt"; clientId: string | undefined; assertion: string };

export type ClientAuthDeps = { clients: ClientRegistry; clock: Clock; config: Config; assertions: UsedClientAssertionRepository };

// An assertion is made for one request: its exp may be at most this far ahead.
const MAX_ASSERTION_LIFETIME_SECONDS = 300;

// A jti is kept (with the client_id) as the primary key of a used assertion: bounded, so that it fits
// an index (PostgreSQL's btree refuses entries over ~2.7 KB), and without control characters
// (PostgreSQL refuses U+0000 in text). Libraries send UUIDs or a few dozen random characters.
export const MAX_ASSERTION_JTI_LENGTH = 256;
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

// Digest compared when the client is unknown, so that case costs what a wrong secret costs.
const NO_CLIENT_DIGEST = sha256("no such client");

const failed = () => new InvalidClient("client authentication failed");

function secretMatches(client: ClientRecord | undefined, secret: string, nowMs: number): boolean {
  const digest = sha256(secret);
  const current = client?.secretDigest ?? NO_CLIENT_DIGEST;
  const matchesCurrent = constantTimeEqual(digest, current);
  const previous = client?.previousSecretDigest;
  // Until its expiry (stored with it: rotateSecret writes both); Number(null) is 0, never valid.
  const previousValid = previous != null && Number(client?.previousSecretExpiresAt) > nowMs;
  const matchesPrevious = previousValid && constantTimeEqual(digest, previous);
  return client?.secretDigest != null && (matchesCurrent || matchesPrevious);
}

async function assertionClient(deps: ClientAuthDeps, clientId: string | undefined, assertion: string): Promise<ClientRecord> {
  const issuer = unverifiedClaims(assertion)?.iss;
  if (typeof issuer !== "string" || (clientId !== undefined && clientId !== issuer)) throw failed();
  const client = deps.clients.get(issuer);
  if (!client?.jwks) throw failed();
  const now = deps.clock.now();
  const { issuer: as } = deps.config;
  let claims;
  try {
    claims = await verifyClientAssertion(assertion, client.jwks, {
      clientId: client.id,
      // RFC 7523 §3: the token endpoint; RFC 7521 §5.1 also allows the issuer identifier; RFC 9126 §2
      // the PAR endpoint's URL.
      audiences: [as, `${as}/token`, `${as}/revoke`, `${as}/introspect`, `${as}/par`],
      now: new Date(now),
      clockToleranceSeconds: deps.config.clockSkewSeconds,
    });
  } catch {
    throw failed();
  }
  const { jti } = claims;
  if (typeof jti !== "string" || jti.length === 0 || jti.length > MAX_ASSERTION_JTI_LENGTH || CONTROL_CHARACTERS.test(jti)) {
    throw new InvalidClient(`client assertion jti must be 1 to ${MAX_ASSERTION_JTI_LENGTH} characters without control characters`);
  }
  const expMs = claims.exp! * 1000;
  if (expMs > now + (MAX_ASSERTION_LIFETIME_SECONDS + deps.config.clockSkewSeconds) * 1000) {
    throw new InvalidClient("client assertion lives too long: exp must be within 5 minutes");
  }
  if (!(await deps.assertions.useOnce(`${client.id} ${jti}`, new Date(expMs)))) {
    throw new InvalidClient("client assertion was used before");
  }
  return client;
}

/**
 * The authenticated, enabled client; otherwise one and the same invalid_client for every cause.
 * Method none (client_id alone) identifies a public client, where `publicClients` allows them, and
 * nothing else: a confidential client must prove who it is. A public client has no secret and no keys,
 * so every other method fails for it.
 */
export async function authenticateClient(deps: ClientAuthDeps, credentials: ClientCredentials, publicClients = false): Promise<ClientRecord> {
  if (credentials.method === "none") {
    const client = deps.clients.get(credentials.clientId);
    if (!client?.public || !client.enabled) throw new InvalidClient("client authentication required");
    if (!publicClients) throw new InvalidClient("public clients cannot use this endpoint");
    return client;
  }
  if (credentials.method === "private_key_jwt") {
    const client = await assertionClient(deps, credentials.clientId, credentials.assertion);
    if (!client.enabled) throw failed();
    return client;
  }
  const client = deps.clients.get(credentials.clientId);
  if (!secretMatches(client, credentials.secret, deps.clock.now()) || !client?.enabled) throw failed();
  return client;
}
