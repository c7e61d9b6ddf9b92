// Client authentication with a shared secret (client_secret_basic, client_secret_post).
import { constantTimeEqual, sha256 } from "../../crypto/secrets.js";
import { InvalidClient } from "../../errors/oauth.js";
import type { ClientRecord } from "../../storage/clients.js";
import type { ClientRegistry } from "./client-registry.js";

export type ClientAuthMethod = "client_secret_basic" | "client_secret_post";
export type ClientCredentials = { method: ClientAuthMethod; clientId: string; secret: string };

// Digest compared when the client is unknown, so that case costs what a wrong secret costs.
const NO_CLIENT_DIGEST = sha256("no such client");

function secretMatches(client: ClientRecord | undefined, secret: string, nowMs: number): boolean {
  const digest = sha256(secret);
  const current = client?.secretDigest ?? NO_CLIENT_DIGEST;
  const matchesCurrent = constantTimeEqual(digest, current);
  const previous = client?.previousSecretDigest;
  const previousValid = previous != null && (client?.previousSecretExpiresAt?.getTime() ?? 0) > nowMs;
  const matchesPrevious = previousValid && constantTimeEqual(digest, previous);
  return client?.secretDigest != null && (matchesCurrent || matchesPrevious);
}

/** The authenticated, enabled client; otherwise one and the same invalid_client for every cause. */
export function authenticateClient(registry: ClientRegistry, credentials: ClientCredentials, nowMs: number): ClientRecord {
  const client = registry.get(credentials.clientId);
  if (!secretMatches(client, credentials.secret, nowMs) || !client?.enabled) {
    throw new InvalidClient("client authentication failed");
  }
  return client;
}
