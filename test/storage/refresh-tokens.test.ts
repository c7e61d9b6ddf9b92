// RefreshTokenRepository's hand-written SQL, driven directly on a real database (both providers):
// findByDigest reads what Prisma's model queries wrote, rotateIfActive lets exactly one of many
// concurrent callers win and writes nothing for a token that is no longer active. The service
// checks most of these conditions before it writes; here the statements must hold them on their own,
// as they must when the state changes between the service's read and its write.
import { randomBytes, randomUUID } from "node:crypto";
import t from "tap";
import { RefreshTokenRepository, type NewRefreshToken } from "../../src/storage/refresh-tokens.js";
import { buildTestApp } from "../helpers/app.js";

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
});

/** A family of alice's (unless told otherwise) with its first token. */
async function family(options: { expiresAt?: Date; tokenExpiresAt?: Date; userId?: string } = {}) {
  const id = randomUUID();
  const first = token(id, options.tokenExpiresAt);
  await repo.startFamily(
    { id, clientId, userId: options.userId ?? alice.id, createdAt: at(-HOUR_MS), expiresAt: options.expiresAt ?? at(24 * HOUR_MS), viaLogin: true },
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
    family: { id, clientId, userId: alice.id, createdAt: at(-HOUR_MS), expiresAt: at(24 * HOUR_MS), revokedAt: null, viaLogin: true, userEnabled: true },
  });
  t.equal(found!.issuedAt.getTime(), NOW.getTime(), "a Date, to the millisecond");
  t.equal(await repo.findByDigest(randomBytes(32).toString("base64url")), null, "an unknown digest: null");
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
  t.equal((await db.refreshToken.findUnique({ where: { digest: first.digest } }))!.usedAt?.getTime(), NOW.getTime());
  t.same(await db.refreshToken.findUnique({ where: { digest: next.digest } }), {
    ...next,
    scope: "read write",
    audience: "https://api.example.test https://other.example.test",
    usedAt: null,
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
        t.equal(await repo.revokeFamily(made.id, "logout", NOW), true);
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
