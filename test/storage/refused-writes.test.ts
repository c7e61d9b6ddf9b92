// The repositories that read a unique violation as an answer ("taken", "replayed", "generation in
// use") throw every other failure instead of answering. The failure is injected at the outer edge:
// a SQLite database that refuses every write (PRAGMA query_only), whatever DATABASE_URL says, since
// the branch under test is the same for both databases.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import t, { type Test } from "tap";
import { applyMigrations } from "../../src/storage/migrate.js";
import { isUniqueViolation, openDb } from "../../src/storage/prisma.js";
import { SigningKeyRepository } from "../../src/storage/signing-keys.js";
import { UsedClientAssertionRepository } from "../../src/storage/used-client-assertions.js";
import { UserRepository } from "../../src/storage/users.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tessera-refused-writes-"));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const url = `file:${path.join(dir, "tessera.db")}`;
await applyMigrations(url);
const db = await openDb(url);
t.teardown(() => db.$disconnect());

const users = new UserRepository(db);
const existing = await users.createIfUsernameFree({ id: "u1", username: "alice", passwordHash: "x" });
t.equal(existing?.username, "alice", "written before the database turns read-only");
await db.$executeRawUnsafe("PRAGMA query_only = ON");

/** The error `promise` rejected with; fails the test if it resolved instead. */
async function refusal(t: Test, promise: Promise<unknown>): Promise<unknown> {
  const outcome = await promise.then((value) => ({ value }), (error: unknown) => ({ error }));
  if (!("error" in outcome)) t.fail(`answered ${JSON.stringify(outcome.value)} instead of throwing`);
  return "error" in outcome ? outcome.error : undefined;
}

t.test("a refused write is thrown, not read as a duplicate", async (t) => {
  const refused = [
    ["users.createIfUsernameFree", () => users.createIfUsernameFree({ id: "u2", username: "bob", passwordHash: "x" })],
    ["users.rename", () => users.rename("u1", "carol")],
    ["usedClientAssertions.useOnce", () => new UsedClientAssertionRepository(db).useOnce("jti-1", new Date(Date.now() + 60_000))],
    [
      "signingKeys.insertIfGenerationFree",
      () => new SigningKeyRepository(db).insertIfGenerationFree({
        kid: "k1", generation: 1, alg: "ES256", publicJwk: "{}", privateKey: "x",
        createdAt: new Date(), activatesAt: new Date(), retiredAt: null, tokensExpireBy: null,
      }),
    ],
  ] as const;
  for (const [what, write] of refused) {
    const error = await refusal(t, write());
    t.equal(isUniqueViolation(error), false, `${what}: not a duplicate`);
    t.match(String((error as Error)?.message), /readonly|read-only|query_only/i, `${what}: the database's refusal`);
  }
});
