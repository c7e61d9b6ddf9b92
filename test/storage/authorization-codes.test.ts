// AuthorizationCodeRepository and GrantRepository on a real database (both providers): the exchange
// consumes a code once among concurrent callers and writes its family in the same transaction (or
// nothing), refuses a code whose grant was revoked; recordConsent widens a grant, starts a revoked one
// afresh, and loses no scope to a concurrent consent.
import { randomBytes, randomUUID } from "node:crypto";
import t from "tap";
import { AuthorizationCodeRepository, type Issued, type NewAuthorizationCode } from "../../src/storage/authorization-codes.js";
import { GrantRepository } from "../../src/storage/grants.js";
import { buildTestApp } from "../helpers/app.js";

const { app, createClient } = await buildTestApp(t);
const db = app.services.db;
const codes = new AuthorizationCodeRepository(db);
const grants = new GrantRepository(db);
const { clientId } = await createClient({ grantTypes: ["authorization_code", "refresh_token"], redirectUris: ["https://app.example.test/cb"] });
const alice = await app.services.users.create("alice", "alice-password-1");

// Odd milliseconds: a date that lost its milliseconds on the way would show.
const NOW = new Date(Date.UTC(2031, 4, 6, 7, 8, 9, 123));
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);

async function newCode(grantId: string, userId = alice.id): Promise<NewAuthorizationCode> {
  const code: NewAuthorizationCode = {
    digest: randomBytes(32).toString("base64url"),
    clientId,
    userId,
    grantId,
    sessionId: randomUUID(),
    redirectUri: "https://app.example.test/cb",
    redirectUriSent: true,
    codeChallenge: randomBytes(32).toString("base64url"),
    scope: ["read", "write"],
    audience: ["https://api.example.test", "https://other.example.test"],
    nonce: "n-0S6_WzA2Mj",
    dpopJkt: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
    authTime: at(-5000),
    issuedAt: NOW,
    expiresAt: at(60_000),
  };
  t.equal(await codes.insert(code), true);
  return code;
}

function issued(userId = alice.id, withFamily = true): Issued {
  const familyId = randomUUID();
  return {
    accessTokenJti: randomUUID(),
    accessTokenExpiresAt: at(900_000),
    accessTokenStatus: 4242 + Math.floor(Math.random() * 1000),
    family: withFamily
      ? {
          record: { id: familyId, clientId, userId, createdAt: NOW, expiresAt: at(86_400_000), viaLogin: false, grantId: "g", sessionId: "s", authTime: null, dpopJkt: null },
          first: {
            digest: randomBytes(32).toString("base64url"),
            familyId,
            scope: ["read"],
            audience: ["https://api.example.test"],
            issuedAt: NOW,
            expiresAt: at(3_600_000),
            accessTokenJti: randomUUID(),
            accessTokenExpiresAt: at(900_000),
            accessTokenStatus: null,
          },
        }
      : null,
  };
}

const grantOf = async (userId = alice.id) => (await grants.recordConsent({ userId, clientId, scope: ["read"], audience: ["https://api.example.test"] }, NOW)).id;

t.test("findByDigest reads back what insert wrote, dates to the millisecond", async (t) => {
  const code = await newCode(await grantOf());
  t.strictSame(await codes.findByDigest(code.digest), { ...code, usedAt: null, familyId: null, accessTokenJti: null, accessTokenExpiresAt: null, accessTokenStatus: null, userEnabled: true });
  t.equal(await codes.findByDigest(randomBytes(32).toString("base64url")), null);
});

t.test("insert writes what Prisma's model queries read: dates to the millisecond, null nonce, false flag, empty lists", async (t) => {
  const code = { ...(await newCode(await grantOf())), digest: randomBytes(32).toString("base64url"), nonce: null, redirectUriSent: false, audience: [] };
  t.equal(await codes.insert(code), true);
  t.strictSame(await db.authorizationCode.findUnique({ where: { digest: code.digest } }), {
    ...code,
    scope: "read write",
    audience: "",
    usedAt: null,
    familyId: null,
    accessTokenJti: null,
    accessTokenExpiresAt: null,
    accessTokenStatus: null,
  });
  t.strictSame(await codes.findByDigest(code.digest), { ...code, usedAt: null, familyId: null, accessTokenJti: null, accessTokenExpiresAt: null, accessTokenStatus: null, userEnabled: true });
});

t.test("findByDigest reads a row Prisma's model query wrote: what the exchange recorded, and the user's enabled flag", async (t) => {
  const frank = await app.services.users.create("frank", "frank-password-1");
  const grantId = await grantOf(frank.id);
  const row = {
    digest: randomBytes(32).toString("base64url"),
    clientId,
    userId: frank.id,
    grantId,
    sessionId: randomUUID(),
    redirectUri: "http://127.0.0.1:8080/cb",
    redirectUriSent: false,
    codeChallenge: randomBytes(32).toString("base64url"),
    scope: "",
    audience: "https://api.example.test",
    nonce: null,
    dpopJkt: null,
    authTime: at(-1),
    issuedAt: NOW,
    expiresAt: at(60_001),
    usedAt: at(7),
    familyId: randomUUID(),
    accessTokenJti: randomUUID(),
    accessTokenExpiresAt: at(900_003),
    accessTokenStatus: 2 ** 20 + 17,
  };
  await db.authorizationCode.create({ data: row });
  const expected = { ...row, scope: [], audience: ["https://api.example.test"], userEnabled: true };
  t.strictSame(await codes.findByDigest(row.digest), expected);
  await app.services.users.setEnabled("frank", false);
  t.strictSame(await codes.findByDigest(row.digest), { ...expected, userEnabled: false }, "a disabled user: false");
});

t.test("insert: a code for a deleted client or user is refused with false", async (t) => {
  const code = await newCode(await grantOf());
  t.equal(await codes.insert({ ...code, digest: randomBytes(32).toString("base64url"), userId: randomUUID() }), false);
});

t.test("exchange consumes the code, records what it issued and stores the family, in one transaction", async (t) => {
  const code = await newCode(await grantOf());
  const what = issued();
  t.equal(await codes.exchange(code, NOW, what), true);
  const found = await codes.findByDigest(code.digest);
  t.strictSame(
    { usedAt: found!.usedAt, familyId: found!.familyId, accessTokenJti: found!.accessTokenJti, accessTokenExpiresAt: found!.accessTokenExpiresAt, accessTokenStatus: found!.accessTokenStatus },
    { usedAt: NOW, familyId: what.family!.record.id, accessTokenJti: what.accessTokenJti, accessTokenExpiresAt: what.accessTokenExpiresAt, accessTokenStatus: what.accessTokenStatus },
  );
  const family = await db.refreshFamily.findUniqueOrThrow({ where: { id: what.family!.record.id } });
  t.strictSame({ grantId: family.grantId, sessionId: family.sessionId, viaLogin: family.viaLogin, expiresAt: family.expiresAt }, { grantId: "g", sessionId: "s", viaLogin: false, expiresAt: at(86_400_000) });
  t.equal(await db.refreshToken.count({ where: { familyId: family.id } }), 1);
  t.equal(await codes.exchange(code, NOW, issued()), false, "a second exchange: false");
});

t.test("exchange without a family (one statement, no transaction): once, never for an expired code or a revoked grant", async (t) => {
  const grantId = await grantOf();
  const code = await newCode(grantId);
  const what = issued(alice.id, false);
  t.equal(await codes.exchange(code, at(60_000), what), false, "at its expiry");
  t.equal(await codes.exchange(code, NOW, what), true);
  const found = (await codes.findByDigest(code.digest))!;
  t.strictSame(
    { usedAt: found.usedAt, familyId: found.familyId, accessTokenJti: found.accessTokenJti, accessTokenExpiresAt: found.accessTokenExpiresAt, accessTokenStatus: found.accessTokenStatus },
    { usedAt: NOW, familyId: null, accessTokenJti: what.accessTokenJti, accessTokenExpiresAt: what.accessTokenExpiresAt, accessTokenStatus: what.accessTokenStatus },
  );
  t.equal(await codes.exchange(code, NOW, issued(alice.id, false)), false, "a second exchange: false");
  t.equal((await codes.findByDigest(code.digest))!.accessTokenJti, what.accessTokenJti, "and the first one's record stays");
  const concurrent = await newCode(grantId);
  const results = await Promise.all(Array.from({ length: 6 }, () => codes.exchange(concurrent, NOW, issued(alice.id, false))));
  t.equal(results.filter(Boolean).length, 1, "of concurrent exchanges exactly one wins");
  const live = await newCode(grantId);
  t.equal(await grants.revoke(grantId, NOW), true);
  t.equal(await codes.exchange(live, NOW, issued(alice.id, false)), false, "its grant is revoked");
  t.equal((await codes.findByDigest(live.digest))!.usedAt, null, "not consumed");
});

t.test("of many concurrent exchanges of one code exactly one wins, and only its family exists", async (t) => {
  const code = await newCode(await grantOf());
  const attempts = Array.from({ length: 8 }, () => issued());
  const results = await Promise.all(attempts.map((what) => codes.exchange(code, NOW, what)));
  t.equal(results.filter(Boolean).length, 1);
  const winner = attempts[results.indexOf(true)]!;
  t.equal((await codes.findByDigest(code.digest))!.familyId, winner.family!.record.id);
  t.equal(await db.refreshFamily.count({ where: { id: { in: attempts.map((a) => a.family!.record.id) } } }), 1);
});

t.test("exchange refuses an expired code and a code whose grant was revoked, writing nothing", async (t) => {
  const grantId = await grantOf();
  const expired = await newCode(grantId);
  const what = issued();
  t.equal(await codes.exchange(expired, at(60_000), what), false, "at its expiry");
  const live = await newCode(grantId);
  t.equal(await grants.revoke(grantId, NOW), true);
  t.equal(await codes.exchange(live, NOW, what), false, "its grant is revoked");
  t.equal((await codes.findByDigest(live.digest))!.usedAt, null, "not consumed");
  t.equal(await db.refreshFamily.count({ where: { id: what.family!.record.id } }), 0);
});

t.test("a family that cannot be stored rolls the consumption back: the code stays unused", async (t) => {
  const code = await newCode(await grantOf());
  const what = issued(randomUUID()); // a family for a user who does not exist: the foreign key refuses it
  t.equal(await codes.exchange(code, NOW, what), false);
  t.equal((await codes.findByDigest(code.digest))!.usedAt, null, "the consumption was rolled back");
  t.equal(await codes.exchange(code, NOW, issued(alice.id, false)), true, "and the code still exchanges");
});

t.test("failures other than a deleted client or user are thrown, not read as a refusal", async (t) => {
  const code = await newCode(await grantOf());
  await t.rejects(codes.insert(code), { code: /^(SQLITE_CONSTRAINT_PRIMARYKEY|23505)$/ }, "the same digest twice");
  const first = issued();
  const other = await newCode(await grantOf());
  t.equal(await codes.exchange(other, NOW, first), true);
  const again = await newCode(await grantOf());
  // A family id that is taken: a unique violation inside the exchange's transaction.
  const taken = { ...issued(), family: { ...first.family!, first: { ...first.family!.first, digest: randomBytes(32).toString("base64url") } } };
  await t.rejects(codes.exchange(again, NOW, taken), { code: /^(SQLITE_CONSTRAINT_PRIMARYKEY|23505)$/ });
  t.equal((await codes.findByDigest(again.digest))!.usedAt, null, "rolled back: the code stays unused");
});

t.test("blocklistAccessTokensOfGrant: the live access tokens of the grant's used codes, once", async (t) => {
  const bob = await app.services.users.create("bob", "bob-password-1");
  const grantId = await grantOf(bob.id);
  const [a, b, unused] = [await newCode(grantId, bob.id), await newCode(grantId, bob.id), await newCode(grantId, bob.id)];
  const first = issued(bob.id, false);
  const second = { ...issued(bob.id, false), accessTokenExpiresAt: at(1000) };
  await codes.exchange(a, NOW, first);
  await codes.exchange(b, NOW, second);
  t.equal(await codes.blocklistAccessTokensOfGrant(grantId, at(1000)), 1, "the expired one is left out");
  const row = await db.revokedAccessToken.findUnique({ where: { jti: first.accessTokenJti } });
  t.equal(row?.status, first.accessTokenStatus, "with its status-list entry, so that its bit reads INVALID");
  const version = async () => (await db.cacheVersion.findUnique({ where: { name: "status_lists" } }))?.version ?? 0;
  const before = await version();
  t.equal(await codes.blocklistAccessTokensOfGrant(grantId, at(1000)), 0, "again: nothing new");
  t.equal(await version(), before + 1, "the status lists' counter is bumped with it (other instances reload)");
  t.equal(unused.grantId, grantId);
});

t.test("recordConsent widens the grant; a revoked grant starts afresh with what is consented to now", async (t) => {
  const carol = await app.services.users.create("carol", "carol-password-1");
  const first = await grants.recordConsent({ userId: carol.id, clientId, scope: ["read"], audience: ["https://api.example.test"] }, NOW);
  const wider = await grants.recordConsent({ userId: carol.id, clientId, scope: ["write", "read"], audience: ["https://other.example.test"] }, at(1000));
  t.equal(wider.id, first.id, "one grant per user and client");
  t.strictSame(wider.scope, ["read", "write"]);
  t.strictSame(wider.audience, ["https://api.example.test", "https://other.example.test"]);
  t.strictSame(await grants.findByUserAndClient(carol.id, clientId), { ...wider, createdAt: NOW });

  t.equal(await grants.revoke(first.id, at(2000)), true);
  t.equal(await grants.revoke(first.id, at(2000)), false, "revoked already");
  const fresh = await grants.recordConsent({ userId: carol.id, clientId, scope: ["read"], audience: ["https://api.example.test"] }, at(3000));
  t.strictSame({ id: fresh.id, scope: fresh.scope, audience: fresh.audience, revokedAt: fresh.revokedAt }, { id: first.id, scope: ["read"], audience: ["https://api.example.test"], revokedAt: null });
  t.strictSame((await grants.liveGrantsOfUser(carol.id)).map((g) => g.id), [first.id]);
});

t.test("findByUserAndClient reads what Prisma's model query wrote: dates to the millisecond, revokedAt null or set, empty lists", async (t) => {
  const gina = await app.services.users.create("gina", "gina-password-1");
  const row = { id: randomUUID(), userId: gina.id, clientId, scope: "", audience: "https://api.example.test https://other.example.test", createdAt: at(-3), updatedAt: at(5), revokedAt: null };
  await db.grant.create({ data: row });
  const expected = { ...row, scope: [], audience: ["https://api.example.test", "https://other.example.test"] };
  t.strictSame(await grants.findByUserAndClient(gina.id, clientId), expected);
  await db.grant.update({ where: { id: row.id }, data: { revokedAt: at(9) } });
  t.strictSame(await grants.findByUserAndClient(gina.id, clientId), { ...expected, revokedAt: at(9) });
  t.equal(await grants.findByUserAndClient(gina.id, randomUUID()), null, "another client: none");
  t.equal(await grants.findByUserAndClient(randomUUID(), clientId), null, "another user: none");
});

t.test("concurrent consents of one user to one client: one grant, holding every scope", async (t) => {
  const dave = await app.services.users.create("dave", "dave-password-1");
  const scopes = ["a", "b", "c", "d"];
  await Promise.all(scopes.map((s) => grants.recordConsent({ userId: dave.id, clientId, scope: [s], audience: ["https://api.example.test"] }, NOW)));
  const grant = await grants.findByUserAndClient(dave.id, clientId);
  t.strictSame([...grant!.scope].sort(), scopes);
  t.equal(await db.grant.count({ where: { userId: dave.id } }), 1);
});

t.test("a grant revoked while its codes are exchanged: no family under it survives, and every access token they issued is blocklisted", async (t) => {
  const erin = await app.services.users.create("erin", "erin-password-1");
  const grantId = await grantOf(erin.id);
  const pending = await Promise.all(Array.from({ length: 6 }, () => newCode(grantId, erin.id)));
  const attempts = pending.map(() => {
    const what = issued(erin.id);
    what.family!.record.grantId = grantId;
    return what;
  });
  const grant = (await grants.findById(grantId))!;
  const [revocation, ...results] = await Promise.all([
    app.services.grants.revoke(grant, "test"),
    ...pending.map((code, i) => codes.exchange(code, NOW, attempts[i]!)),
  ]);
  t.not(revocation, null, "the revocation ran");
  t.equal(await db.refreshFamily.count({ where: { grantId, revokedAt: null } }), 0, "every family that was stored is revoked");
  const won = attempts.filter((_, i) => results[i]);
  for (const what of won) {
    // The access token of the code (in the family's first token too, with its own jti here).
    t.ok(await db.revokedAccessToken.findUnique({ where: { jti: what.family!.first.accessTokenJti } }), "the family's access token is blocklisted");
  }
  t.equal(await db.authorizationCode.count({ where: { grantId, usedAt: null } }), pending.length - won.length, "the others stay unused, and can no longer be exchanged");
  for (const [i, code] of pending.entries()) if (!results[i]) t.equal(await codes.exchange(code, NOW, issued(erin.id)), false);
});
