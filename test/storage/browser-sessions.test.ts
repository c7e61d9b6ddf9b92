// BrowserSessionRepository on a real database (both providers): findByDigest is a hand-written
// statement (direct-sql.ts) that must read what Prisma's model queries wrote, dates to the
// millisecond, endedAt null or set, and the session's user with it (and, for /authorize, the user's
// grant to one client).
import { randomBytes, randomUUID } from "node:crypto";
import t from "tap";
import { BrowserSessionRepository } from "../../src/storage/browser-sessions.js";
import { GrantRepository } from "../../src/storage/grants.js";
import { buildTestApp } from "../helpers/app.js";

const { app, createClient } = await buildTestApp(t);
const db = app.services.db;
const sessions = new BrowserSessionRepository(db);
const alice = await app.services.users.create("alice", "alice-password-1");

// Odd milliseconds: a date that lost its milliseconds on the way would show.
const NOW = new Date(Date.UTC(2031, 4, 6, 7, 8, 9, 123));
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);

const newSession = (userId = alice.id) => ({
  id: randomUUID(),
  digest: randomBytes(32).toString("base64url"),
  userId,
  authTime: at(-1),
  createdAt: at(-3),
  lastSeenAt: at(5),
  expiresAt: at(3_600_007),
});

t.test("findByDigest reads what create wrote, dates to the millisecond, with the session's user", async (t) => {
  const session = newSession();
  await sessions.create(session);
  const user = await db.user.update({ where: { id: alice.id }, data: { name: "Alice Liddell", email: "alice@example.test", emailVerified: true } });
  t.strictSame(await sessions.findByDigest(session.digest), {
    ...session,
    endedAt: null,
    user: { id: alice.id, username: "alice", name: "Alice Liddell", email: "alice@example.test", emailVerified: true, enabled: true, createdAt: user.createdAt, updatedAt: user.updatedAt },
  });
  t.equal(await sessions.findByDigest(randomBytes(32).toString("base64url")), null, "an unknown digest: null");
});

t.test("findByDigest: endedAt once ended, and the user's enabled flag as it is now", async (t) => {
  const bob = await app.services.users.create("bob", "bob-password-1");
  const session = newSession(bob.id);
  await sessions.create(session);
  t.equal(await sessions.endIfActive(session.id, at(11)), true);
  await app.services.users.setEnabled("bob", false);
  const found = await sessions.findByDigest(session.digest);
  t.strictSame(found?.endedAt, at(11));
  t.equal(found?.user.enabled, false);
  t.equal(found?.user.username, "bob");
});

t.test("findByDigest: a deleted user's sessions are gone with the user", async (t) => {
  const carol = await app.services.users.create("carol", "carol-password-1");
  const session = newSession(carol.id);
  await sessions.create(session);
  await db.user.delete({ where: { id: carol.id } });
  t.equal(await sessions.findByDigest(session.digest), null);
});

t.test("findByDigestWithGrant: the session with the user's grant to that client only, revoked or not", async (t) => {
  const grants = new GrantRepository(db);
  const dave = await app.services.users.create("dave", "dave-password-1");
  const { clientId } = await createClient({ grantTypes: ["authorization_code"], redirectUris: ["https://app.example.test/cb"] });
  const { clientId: other } = await createClient({ grantTypes: ["authorization_code"], redirectUris: ["https://other.example.test/cb"] });
  const session = newSession(dave.id);
  await sessions.create(session);
  const bare = await sessions.findByDigest(session.digest);
  t.strictSame(await sessions.findByDigestWithGrant(session.digest, clientId), { ...bare, grant: null }, "no grant yet: null");

  const grant = await grants.recordConsent({ userId: dave.id, clientId, scope: ["read", "write"], audience: ["https://api.example.test"] }, at(7));
  // alice's grant to the same client is not dave's
  await grants.recordConsent({ userId: alice.id, clientId, scope: ["admin"], audience: [] }, at(8));
  t.strictSame(await sessions.findByDigestWithGrant(session.digest, clientId), { ...bare, grant }, "the grant as findByUserAndClient reads it");
  t.strictSame(await sessions.findByDigestWithGrant(session.digest, other), { ...bare, grant: null }, "another client's: null");

  t.equal(await grants.revoke(grant.id, at(9)), true);
  const revoked = await sessions.findByDigestWithGrant(session.digest, clientId);
  t.strictSame(revoked?.grant, await grants.findByUserAndClient(dave.id, clientId));
  t.strictSame(revoked?.grant?.revokedAt, at(9));
  t.equal(await sessions.findByDigestWithGrant(randomBytes(32).toString("base64url"), clientId), null, "an unknown digest: null");
});
