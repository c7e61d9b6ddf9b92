// RefreshTokenRepository's hand-written SQL, driven directly on a real database (both providers):
// findByDigest reads what Prisma's model queries wrote, rotateIfActive lets exactly one of many
// concurrent callers win and writes nothing for a token that is no longer active. The service
// checks most of these conditions before it writes; here the statements must hold them on their own,
// as they must when the state changes between the service's read and its write.
import { randomBytes, randomUUID } from "node:crypto";
import t from "tap";
import { RefreshTokenRepository, type NewRefreshToken } from "../../src/storage/refresh-tokens.js";
import { buildTestApp } from "../helpers/app.js";
import { TEST_PROVIDER } from "../helpers/database.js";

const { app, createClient } = await buildTestApp(t);
const db = app.services.db;
const repo = new RefreshTokenRepository(db);
const { clientId } = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"] });
const alice = await app.services.users.create("alice", "alice-password-1");

const HOUR_MS = 3600_000;
// Odd milliseconds: a date that lost its milliseconds (or its time zone) on the way would show.
const NOW = new Date(Date.UTC(2031, 4, 6, 7, 8, 9, 123));
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);

const token = (familyId: string, expiresAt = at(HOUR_MS)): NewRefreshToken => ({
  digest: randomBytes(32).toString("base64url"),
  familyId,
  scope: ["read", "write"],
  audience: ["https://api.example.test", "https://other.example.test"],
  issuedAt: NOW,
  expiresAt,
  accessTokenJti: randomUUID(),
  accessTokenExpiresAt: at(900_000),
  accessTokenStatus: 3 * 2 ** 20 + 5, // list 3, idx 5: read back as a number from either database
});

/** A family of alice's (unless told otherwise) with its first token. */
async function family(options: { expiresAt?: Date; tokenExpiresAt?: Date; userId?: string; sessionId?: string; authTime?: Date } = {}) {
  const id = randomUUID();
  const first = token(id, options.tokenExpiresAt);
  const { sessionId, authTime } = options;
  await repo.startFamily(
    { id, clientId, userId: options.userId ?? alice.id, createdAt: at(-HOUR_MS), expiresAt: options.expiresAt ?? at(24 * HOUR_MS), viaLogin: true, grantId: null, sessionId: sessionId ?? null, authTime: authTime ?? null, dpopJkt: null },
    first,
  );
  return { id, first };
}

const tokensOf = (familyId: string) => db.refreshToken.count({ where: { familyId } });

t.test("findByDigest reads what the model queries wrote: dates to the millisecond, lists, the family and the user's flag", async (t) => {
  const { id, first } = await family();
  const found = await repo.findByDigest(first.digest);
  t.same(found, {
    ...first,
    usedAt: null,
    successorDigest: null,
    family: { id, clientId, userId: alice.id, createdAt: at(-HOUR_MS), expiresAt: at(24 * HOUR_MS), revokedAt: null, viaLogin: true, userEnabled: true, sessionId: null, authTime: null, dpopJkt: null },
  });
  t.equal(found!.issuedAt.getTime(), NOW.getTime(), "a Date, to the millisecond");
  t.equal(await repo.findByDigest(randomBytes(32).toString("base64url")), null, "an unknown digest: null");
});

t.test("findByDigest reads a code family's browser session and sign-in time (the ID token's sid and auth_time)", async (t) => {
  const sessionId = randomUUID();
  const { first } = await family({ sessionId, authTime: at(-7 * 60_000 - 456) });
  const found = (await repo.findByDigest(first.digest))!;
  t.equal(found.family.sessionId, sessionId);
  t.equal(found.family.authTime?.getTime(), at(-7 * 60_000 - 456).getTime(), "a Date, to the millisecond");
});

t.test("findByDigest: a successor whose access token has no status-list entry (STATUS_LIST=off) reads null", async (t) => {
  const { id, first } = await family();
  const next = { ...token(id), accessTokenStatus: null };
  t.equal(await repo.rotateIfActive(first.digest, NOW, next), true);
  t.equal((await repo.findByDigest(next.digest))!.accessTokenStatus, null);
  t.equal((await repo.findByDigest(first.digest))!.accessTokenStatus, 3 * 2 ** 20 + 5, "its predecessor's entry, as a number");
});

t.test("findByDigest: the flag follows the user's enabled column", async (t) => {
  const bob = await app.services.users.create("bob", "bob-password-1");
  const { first } = await family({ userId: bob.id });
  await app.services.users.setEnabled("bob", false);
  t.equal((await repo.findByDigest(first.digest))!.family.userEnabled, false);
  await app.services.users.setEnabled("bob", true);
  t.equal((await repo.findByDigest(first.digest))!.family.userEnabled, true);
});

t.test("rotateIfActive marks the token used and stores its successor, which the model queries read back", async (t) => {
  const { id, first } = await family();
  const next = token(id);
  t.equal(await repo.rotateIfActive(first.digest, NOW, next), true);
  const consumed = (await db.refreshToken.findUnique({ where: { digest: first.digest } }))!;
  t.equal(consumed.usedAt?.getTime(), NOW.getTime());
  t.equal(consumed.successorDigest, next.digest, "the consumed token names its successor");
  t.same(await db.refreshToken.findUnique({ where: { digest: next.digest } }), {
    ...next,
    scope: "read write",
    audience: "https://api.example.test https://other.example.test",
    usedAt: null,
    successorDigest: null,
  });
  t.equal(await repo.rotateIfActive(first.digest, NOW, token(id)), false, "a used token does not rotate again");
  t.equal(await tokensOf(id), 2, "and nothing more is stored");
});

t.test("rotateIfActive is one transaction: a successor that cannot be stored leaves the token unconsumed", async (t) => {
  const { id, first } = await family();
  const other = await family();
  const clash = { ...token(id), digest: other.first.digest }; // a digest that is taken: the insert fails
  await t.rejects(repo.rotateIfActive(first.digest, NOW, clash));
  t.equal((await db.refreshToken.findUnique({ where: { digest: first.digest } }))!.usedAt, null, "not consumed");
  t.equal(await repo.rotateIfActive(first.digest, NOW, token(id)), true, "and it still rotates");
});

t.test("twenty concurrent rotateIfActive calls with one token: exactly one wins, one successor is stored", async (t) => {
  const { id, first } = await family();
  const results = await Promise.all(Array.from({ length: 20 }, () => repo.rotateIfActive(first.digest, NOW, token(id))));
  t.equal(results.filter(Boolean).length, 1);
  t.equal(await tokensOf(id), 2);
});

t.test("rotateIfActive writes nothing when the token is no longer active", async (t) => {
  const cases: [string, () => Promise<{ id: string; first: NewRefreshToken }>][] = [
    ["the token has expired", () => family({ tokenExpiresAt: NOW })],
    ["the family has expired", () => family({ expiresAt: NOW })],
    [
      "the family was revoked",
      async () => {
        const made = await family();
        t.same(await repo.revokeFamily(made.id, "logout", NOW), { revoked: true, accessTokensRevoked: 1 });
        return made;
      },
    ],
  ];
  for (const [why, make] of cases) {
    const { id, first } = await make();
    t.equal(await repo.rotateIfActive(first.digest, NOW, token(id)), false, why);
    t.equal((await db.refreshToken.findUnique({ where: { digest: first.digest } }))!.usedAt, null, `${why}: not consumed`);
    t.equal(await tokensOf(id), 1, `${why}: no successor`);
  }
});

const blocklisted = async (jtis: string[]) =>
  (await db.revokedAccessToken.findMany({ where: { jti: { in: jtis } }, select: { jti: true } })).map((r) => r.jti).sort();

t.test("revokeFamily revokes and blocklists the family's live access tokens in one go; run again, it repairs", async (t) => {
  const { id, first } = await family();
  const second = token(id);
  t.equal(await repo.rotateIfActive(first.digest, NOW, second), true);
  const expired = { ...token(id), accessTokenExpiresAt: NOW }; // its access token has expired: not blocklisted
  t.equal(await repo.rotateIfActive(second.digest, NOW, expired), true);
  const version = async () => (await db.cacheVersion.findUnique({ where: { name: "status_lists" } }))?.version ?? 0;
  const versionBefore = await version();
  t.same(await repo.revokeFamily(id, "reuse", NOW), { revoked: true, accessTokensRevoked: 2 });
  t.same(await blocklisted([first.accessTokenJti, second.accessTokenJti, expired.accessTokenJti]), [first.accessTokenJti, second.accessTokenJti].sort());
  const statuses = await db.revokedAccessToken.findMany({ where: { jti: { in: [first.accessTokenJti, second.accessTokenJti] } }, select: { status: true } });
  t.same(statuses.map((r) => r.status), [first.accessTokenStatus, second.accessTokenStatus], "each with its status-list entry");
  t.equal(await version(), versionBefore + 1, "the status lists' counter moved in the same transaction");
  const row = (await db.refreshFamily.findUnique({ where: { id } }))!;
  t.equal(row.revokedAt?.getTime(), NOW.getTime());
  t.equal(row.revokedReason, "reuse");

  // An entry lost (as when a revocation of old left the family revoked but its tokens unlisted):
  await db.revokedAccessToken.delete({ where: { jti: second.accessTokenJti } });
  t.same(await repo.revokeFamily(id, "logout", at(1000)), { revoked: false, accessTokensRevoked: 1 }, "revoked already: only the missing entry");
  t.same(await blocklisted([first.accessTokenJti, second.accessTokenJti]), [first.accessTokenJti, second.accessTokenJti].sort());
  t.equal((await db.refreshFamily.findUnique({ where: { id } }))!.revokedReason, "reuse", "the first revocation's reason stays");
  t.same(await repo.revokeFamily(randomUUID(), "logout", NOW), { revoked: false, accessTokensRevoked: 0 }, "an unknown family");
});

t.test("revokeFamily is one transaction: when blocklisting fails (a trigger refuses it), the family stays alive, and a retry does both", async (t) => {
  const { id, first } = await family();
  // The failure is injected at the database edge: a trigger that refuses every blocklist insert.
  const [create, drop] =
    TEST_PROVIDER === "postgresql"
      ? [
          [
            `CREATE FUNCTION tessera_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$`,
            `CREATE TRIGGER tessera_test_refuse BEFORE INSERT ON "RevokedAccessToken" FOR EACH ROW EXECUTE FUNCTION tessera_test_refuse()`,
          ],
          [`DROP TRIGGER tessera_test_refuse ON "RevokedAccessToken"`, `DROP FUNCTION tessera_test_refuse()`],
        ]
      : [
          [`CREATE TRIGGER tessera_test_refuse BEFORE INSERT ON "RevokedAccessToken" BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`],
          [`DROP TRIGGER tessera_test_refuse`],
        ];
  for (const statement of create) await db.$executeRawUnsafe(statement);
  await t.rejects(repo.revokeFamily(id, "logout", NOW), /refused by the test/);
  for (const statement of drop) await db.$executeRawUnsafe(statement);
  t.equal((await db.refreshFamily.findUnique({ where: { id } }))!.revokedAt, null, "the revocation was rolled back with it");
  t.same(await repo.revokeFamily(id, "logout", NOW), { revoked: true, accessTokensRevoked: 1 }, "the retry revokes and blocklists");
  t.same(await blocklisted([first.accessTokenJti]), [first.accessTokenJti]);
});

t.test("replaceUnusedSuccessor: a rotated token's unused successor is replaced, its access token blocklisted", async (t) => {
  const { id, first } = await family();
  const second = token(id);
  t.equal(await repo.rotateIfActive(first.digest, NOW, second), true);
  const rotated = (await repo.findByDigest(first.digest))!;
  const third = token(id);
  t.equal(await repo.replaceUnusedSuccessor(rotated, at(5000), third), true);
  t.equal((await db.refreshToken.findUnique({ where: { digest: first.digest } }))!.successorDigest, third.digest, "the rotated token's successor is the new one");
  const replaced = (await db.refreshToken.findUnique({ where: { digest: second.digest } }))!;
  t.equal(replaced.usedAt?.getTime(), at(5000).getTime(), "the replaced successor is used up");
  t.equal(replaced.successorDigest, null, "and names no successor: it can never rotate again");
  t.same(await blocklisted([second.accessTokenJti, third.accessTokenJti]), [second.accessTokenJti], "the replaced pair's access token is blocklisted");
  t.equal(await repo.replaceUnusedSuccessor(rotated, at(6000), token(id)), false, "the successor it knew of is gone: nothing happens");
  t.equal(await tokensOf(id), 3);
  t.equal(await repo.replaceUnusedSuccessor({ ...rotated, successorDigest: null }, at(6000), token(id)), false, "no successor recorded");
});

t.test("replaceUnusedSuccessor writes nothing when the successor was used or the family revoked", async (t) => {
  const { id, first } = await family();
  const second = token(id);
  await repo.rotateIfActive(first.digest, NOW, second);
  const rotated = (await repo.findByDigest(first.digest))!;
  await repo.rotateIfActive(second.digest, at(1000), token(id));
  t.equal(await repo.replaceUnusedSuccessor(rotated, at(2000), token(id)), false, "successor used");
  t.equal(await tokensOf(id), 3, "no new token");
  t.equal((await db.refreshToken.findUnique({ where: { digest: first.digest } }))!.successorDigest, second.digest, "unchanged");

  const other = await family();
  const next = token(other.id);
  await repo.rotateIfActive(other.first.digest, NOW, next);
  const otherRotated = (await repo.findByDigest(other.first.digest))!;
  await repo.revokeFamily(other.id, "logout", NOW);
  t.equal(await repo.replaceUnusedSuccessor(otherRotated, at(1000), token(other.id)), false, "family revoked");
  t.equal((await db.refreshToken.findUnique({ where: { digest: next.digest } }))!.usedAt, null, "the successor is untouched");
});

t.test("replaceUnusedSuccessor is one transaction: a replacement that cannot be stored is thrown, and nothing changes", async (t) => {
  const { id, first } = await family();
  const second = token(id);
  await repo.rotateIfActive(first.digest, NOW, second);
  const rotated = (await repo.findByDigest(first.digest))!;
  const clash = { ...token(id), digest: (await family()).first.digest }; // a digest that is taken
  await t.rejects(repo.replaceUnusedSuccessor(rotated, at(1000), clash), { code: /^(SQLITE_CONSTRAINT_PRIMARYKEY|23505)$/ });
  t.equal((await db.refreshToken.findUnique({ where: { digest: second.digest } }))!.usedAt, null, "the successor is not used up");
  t.equal((await db.refreshToken.findUnique({ where: { digest: first.digest } }))!.successorDigest, second.digest, "and is still the successor");
});

t.test("twenty concurrent replaceUnusedSuccessor calls: exactly one wins", async (t) => {
  const { id, first } = await family();
  await repo.rotateIfActive(first.digest, NOW, token(id));
  const rotated = (await repo.findByDigest(first.digest))!;
  const results = await Promise.all(Array.from({ length: 20 }, () => repo.replaceUnusedSuccessor(rotated, at(1000), token(id))));
  t.equal(results.filter(Boolean).length, 1);
  t.equal(await tokensOf(id), 3);
});

t.test("revokeUserFamilies revokes every family of the user and blocklists their live access tokens", async (t) => {
  const carol = await app.services.users.create("carol", "carol-password-1");
  const a = await family({ userId: carol.id });
  const b = await family({ userId: carol.id });
  const bNext = token(b.id);
  await repo.rotateIfActive(b.first.digest, NOW, bNext);
  const alices = await family();
  t.same(await repo.revokeUserFamilies(carol.id, "password_change", NOW), { families: 2, accessTokensRevoked: 3 });
  t.same(await blocklisted([a.first.accessTokenJti, b.first.accessTokenJti, bNext.accessTokenJti, alices.first.accessTokenJti]),
    [a.first.accessTokenJti, b.first.accessTokenJti, bNext.accessTokenJti].sort());
  for (const f of [a, b]) t.equal((await db.refreshFamily.findUnique({ where: { id: f.id } }))!.revokedReason, "password_change");
  t.equal((await db.refreshFamily.findUnique({ where: { id: alices.id } }))!.revokedAt, null, "another user's family lives");
  t.same(await repo.revokeUserFamilies(carol.id, "password_change", NOW), { families: 0, accessTokensRevoked: 0 }, "again: nothing left");
});
