// RefreshTokenService: opaque tokens stored as a keyed digest, families, idle and absolute lifetimes,
// rotation, reuse detection and concurrent rotation (RFC 6749 §6, RFC 9700 §4.14.2).
// The service is driven directly, on a real database, with the settable clock.
import { createHash } from "node:crypto";
import t from "tap";
import { decodeJwt } from "jose";
import { deriveKey, loadKek } from "../../../src/crypto/kek.js";
import { keyedDigest } from "../../../src/crypto/secrets.js";
import { InvalidGrant, InvalidScope } from "../../../src/errors/oauth.js";
import { CONCURRENT_USE_WINDOW_MS } from "../../../src/domain/tokens/refresh-token-service.js";
import type { ClientRecord } from "../../../src/storage/clients.js";
import { buildTestApp } from "../../helpers/app.js";

// Short lifetimes so the arithmetic is easy to follow: absolute 1000 s, idle 400 s.
const ABSOLUTE = 1000;
const IDLE = 400;
const API = "https://api.example.test";
/** Seconds after a rotation from which presenting the rotated token again is no longer concurrent use. */
const REPLAY_AFTER = CONCURRENT_USE_WINDOW_MS / 1000;

const { app, config, clock, createClient } = await buildTestApp(t, {
  REFRESH_TOKEN_TTL: String(ABSOLUTE),
  REFRESH_IDLE_TTL: String(IDLE),
});
const service = app.services.refreshTokens;
const db = app.services.db;

const clientRecord = async (input: Parameters<typeof createClient>[0] = {}): Promise<ClientRecord> => {
  const { clientId } = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"], ...input });
  const record = app.services.clients.get(clientId);
  if (!record) throw new Error("the new client is not in the registry");
  return record;
};

const client = await clientRecord();
const user = await app.services.users.create("alice", "alice-password-1");

/** The check /refresh and /token make: the family's client must be this one. */
const sameClient = (expected: ClientRecord) => (family: { clientId: string }) => {
  if (family.clientId !== expected.id) throw new InvalidGrant("refresh token is invalid");
  return expected;
};

const startSession = async (scope = ["read", "write"], forClient = client) => {
  const response = await service.startSession({ grantType: "password", client: forClient, user, scope, audience: API });
  return response;
};
const newToken = async () => {
  const { refresh_token } = await startSession();
  if (!refresh_token) throw new Error("no refresh token");
  return refresh_token;
};
const rotate = (presented: string, narrow?: (scope: string[]) => string[]) => service.rotate(presented, sameClient(client), narrow);
const digestOf = (token: string) => keyedDigest(deriveKey(loadKek(config.kek, config.kekFile), "refresh token digest"), token);
const rowOf = (token: string) => db.refreshToken.findUnique({ where: { digest: digestOf(token) } });

t.test("a refresh token is 256 random bits in base64url (43 characters)", async (t) => {
  const token = await newToken();
  t.match(token, /^[A-Za-z0-9_-]{43}$/);
  const bytes = Buffer.from(token, "base64url");
  t.equal(bytes.length, 32);
  t.equal(bytes.toString("base64url"), token, "canonical base64url, no padding");
  t.not(await newToken(), token, "every session gets its own token");
});

t.test("only a keyed digest of the token is stored, never the token or its plain SHA-256", async (t) => {
  const token = await newToken();
  const rows = await db.refreshToken.findMany();
  t.ok(rows.length > 0);
  const dump = JSON.stringify(rows);
  t.notOk(dump.includes(token), "the plain token is in no column");
  t.notOk(dump.includes(createHash("sha256").update(token).digest("base64url")), "an unkeyed SHA-256 is not stored");
  const row = await rowOf(token);
  t.ok(row, "the row is found by the HMAC of the token under the key derived from the KEK");
  t.not(row!.digest, token);
});

t.test("the first token of a session starts a family with the absolute lifetime", async (t) => {
  const token = await newToken();
  const row = await rowOf(token);
  const family = await db.refreshFamily.findUnique({ where: { id: row!.familyId } });
  t.ok(family);
  t.equal(family!.clientId, client.id);
  t.equal(family!.userId, user.id);
  t.equal(family!.createdAt.getTime(), clock.now());
  t.equal(family!.expiresAt.getTime(), clock.now() + ABSOLUTE * 1000);
  t.equal(family!.revokedAt, null);
  t.equal(row!.expiresAt.getTime(), clock.now() + IDLE * 1000, "the token itself expires after the idle lifetime");
  t.equal(row!.usedAt, null);
});

t.test("rotations stay in one family; another session is another family", async (t) => {
  const first = await newToken();
  const second = (await rotate(first)).refresh_token!;
  const third = (await rotate(second)).refresh_token!;
  const other = await newToken();
  const [a, b, c, d] = await Promise.all([first, second, third, other].map(rowOf));
  t.equal(b!.familyId, a!.familyId);
  t.equal(c!.familyId, a!.familyId);
  t.not(d!.familyId, a!.familyId);
  t.equal(await db.refreshToken.count({ where: { familyId: a!.familyId } }), 3);
});

t.test("rotation marks the old token used and returns a new pair for the same user and client", async (t) => {
  const old = await newToken();
  const response = await rotate(old);
  t.equal(response.token_type, "Bearer");
  t.match(response.refresh_token, /^[A-Za-z0-9_-]{43}$/);
  t.not(response.refresh_token, old);
  const claims = decodeJwt(response.access_token);
  t.equal(claims.sub, user.id);
  t.equal(claims.client_id, client.id);
  t.equal(claims.aud, API);
  t.equal(claims.scope, "read write");
  t.equal((await rowOf(old))!.usedAt?.getTime(), clock.now());
  t.equal((await rowOf(response.refresh_token!))!.usedAt, null);
});

t.test("idle lifetime", async (t) => {
  t.test("a token unused for less than REFRESH_IDLE_TTL still rotates", async (t) => {
    const token = await newToken();
    clock.advance(IDLE - 1);
    const response = await rotate(token);
    t.match(response.refresh_token, /^[A-Za-z0-9_-]{43}$/);
  });

  t.test("a token unused for REFRESH_IDLE_TTL has expired", async (t) => {
    const token = await newToken();
    clock.advance(IDLE);
    await t.rejects(rotate(token), InvalidGrant);
    t.equal((await rowOf(token))!.usedAt, null, "an expired token is not consumed");
  });

  t.test("rotation extends the idle expiry: a session in use outlives REFRESH_IDLE_TTL", async (t) => {
    const first = await newToken();
    clock.advance(IDLE - 1);
    const second = (await rotate(first)).refresh_token!;
    t.equal((await rowOf(second))!.expiresAt.getTime(), clock.now() + IDLE * 1000, "the new token gets a fresh idle expiry");
    clock.advance(IDLE - 1); // 2 × (idle − 1) seconds after sign-in, longer than the idle lifetime
    t.ok((await rotate(second)).refresh_token, "still alive");
  });
});

t.test("absolute lifetime", async (t) => {
  t.test("rotation never extends a token past the family's absolute expiry", async (t) => {
    const started = clock.now();
    let token = await newToken();
    const familyId = (await rowOf(token))!.familyId;
    // Rotate every 300 s: idle expiry would be now + 400, but the family ends at started + 1000.
    for (const at of [300, 600, 900]) {
      clock.advance(at - (clock.now() - started) / 1000);
      token = (await rotate(token)).refresh_token!;
      const expected = Math.min(clock.now() + IDLE * 1000, started + ABSOLUTE * 1000);
      t.equal((await rowOf(token))!.expiresAt.getTime(), expected, `token issued at +${at}s expires at min(idle, absolute)`);
    }
    clock.advance(99); // +999 s: one second left
    token = (await rotate(token)).refresh_token!;
    t.equal((await rowOf(token))!.expiresAt.getTime(), started + ABSOLUTE * 1000);
    clock.advance(1); // +1000 s: the family is over
    await t.rejects(rotate(token), InvalidGrant);
    const family = await db.refreshFamily.findUnique({ where: { id: familyId } });
    t.equal(family!.expiresAt.getTime(), started + ABSOLUTE * 1000, "the family's expiry never moved");
  });
});

t.test("reuse of a rotated token", async (t) => {
  t.test("revokes the whole family, even the newest token, and is audited once", async (t) => {
    const first = await newToken();
    const second = (await rotate(first)).refresh_token!;
    const familyId = (await rowOf(first))!.familyId;

    clock.advance(REPLAY_AFTER);
    await t.rejects(rotate(first), InvalidGrant, "the rotated token is refused");
    const family = await db.refreshFamily.findUnique({ where: { id: familyId } });
    t.equal(family!.revokedAt?.getTime(), clock.now());
    t.equal(family!.revokedReason, "reuse");
    await t.rejects(rotate(second), InvalidGrant, "the newest token of the family is dead too");
    t.equal((await rowOf(second))!.usedAt, null, "refused, not consumed");

    await t.rejects(rotate(first), InvalidGrant, "a second replay is refused as well");
    const entries = (await app.services.audit.list(50)).filter((e) => e.target === `refresh_family:${familyId}`);
    t.equal(entries.length, 1, "one audit entry for the incident, not one per replay");
    t.equal(entries[0]!.action, "refresh_token.reuse");
    t.equal(entries[0]!.actor, `client:${client.id}`);
    t.equal(entries[0]!.details.userId, user.id);
    t.equal(entries[0]!.at.getTime(), clock.now());
    t.notOk(JSON.stringify(entries).includes(first), "the audit entry holds no token");
  });

  t.test("another family of the same user is not affected", async (t) => {
    const victim = await newToken();
    const bystander = await newToken();
    await rotate(victim);
    clock.advance(REPLAY_AFTER);
    await t.rejects(rotate(victim), InvalidGrant);
    t.ok((await rotate(bystander)).refresh_token, "the other sign-in still refreshes");
  });
});

t.test("twenty concurrent rotations of one token: exactly one succeeds", async (t) => {
  const token = await newToken();
  const results = await Promise.allSettled(Array.from({ length: 20 }, () => rotate(token)));
  const won = results.filter((r) => r.status === "fulfilled");
  const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  t.equal(won.length, 1, "exactly one winner");
  t.equal(lost.length, 19);
  t.ok(lost.every((r) => r.reason instanceof InvalidGrant), "every loser gets invalid_grant, nothing else");
  const familyId = (await rowOf(token))!.familyId;
  t.equal(await db.refreshToken.count({ where: { familyId } }), 2, "one new token in the family, not twenty");
});

const CONCURRENT = { message: "refresh token was rotated by a concurrent request" };
const jtiOf = (accessToken: string) => decodeJwt(accessToken).jti as string;
const blocklisted = async (jti: string) => (await db.revokedAccessToken.findUnique({ where: { jti } })) !== null;
const familyOf = async (token: string) => db.refreshFamily.findUnique({ where: { id: (await rowOf(token))!.familyId } });

t.test("concurrent use: a rotated token presented again within the window is invalid_grant and revokes nothing", async (t) => {
  t.equal(CONCURRENT_USE_WINDOW_MS, 2000, "the window is 2 s");
  const first = await newToken();
  const winner = await rotate(first);
  clock.advance(REPLAY_AFTER - 0.001);
  await t.rejects(rotate(first), { ...CONCURRENT, code: "invalid_grant" }, "1.999 s after: a concurrent loser");
  t.equal((await familyOf(first))!.revokedAt, null, "the family lives");
  t.equal(await blocklisted(jtiOf(winner.access_token)), false, "the winner's access token lives");
  t.ok((await rotate(winner.refresh_token!)).refresh_token, "the winner's refresh token rotates");
});

t.test("a rotated token presented again 2 s after its rotation began is reuse (REFRESH_REUSE_GRACE=0)", async (t) => {
  const first = await newToken();
  const winner = await rotate(first);
  clock.advance(REPLAY_AFTER);
  await t.rejects(rotate(first), { message: "refresh token is invalid" });
  t.equal((await familyOf(first))!.revokedReason, "reuse");
  t.equal(await blocklisted(jtiOf(winner.access_token)), true, "the successor's access token is blocklisted");
  await t.rejects(rotate(winner.refresh_token!), { message: "refresh token expired or revoked" });
});

t.test("twenty concurrent rotations: the winner's refresh token and access token stay valid", async (t) => {
  const token = await newToken();
  const results = await Promise.allSettled(Array.from({ length: 20 }, () => rotate(token)));
  const won = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  t.equal(won.length, 1);
  t.equal(await blocklisted(jtiOf(won[0]!.access_token)), false);
  t.equal((await familyOf(token))!.revokedAt, null);
  t.ok((await rotate(won[0]!.refresh_token!)).refresh_token, "the winner's refresh token rotates");
});

t.test("REFRESH_REUSE_GRACE=10", async (t) => {
  const graceApp = await buildTestApp(t, { REFRESH_REUSE_GRACE: "10" });
  t.equal(graceApp.config.refreshReuseGraceSeconds, 10);
  const graceClock = graceApp.clock;
  const graceService = graceApp.app.services.refreshTokens;
  const { clientId } = await graceApp.createClient({ firstParty: true, grantTypes: ["password", "refresh_token"] });
  const graceClient = graceApp.app.services.clients.get(clientId)!;
  const bob = await graceApp.app.services.users.create("bob", "bob-password-1");
  const start = async () =>
    (await graceService.startSession({ grantType: "password", client: graceClient, user: bob, scope: ["read"], audience: API })).refresh_token!;
  const turn = (token: string) => graceService.rotate(token, sameClient(graceClient));
  const graceDb = graceApp.app.services.db;
  const isBlocklisted = async (accessToken: string) => (await graceDb.revokedAccessToken.findUnique({ where: { jti: jtiOf(accessToken) } })) !== null;
  const graceDigest = (token: string) => keyedDigest(deriveKey(loadKek(graceApp.config.kek, graceApp.config.kekFile), "refresh token digest"), token);
  const familyRevokedReason = async (token: string) => {
    const row = await graceDb.refreshToken.findUnique({ where: { digest: graceDigest(token) }, select: { family: { select: { revokedReason: true } } } });
    return row!.family.revokedReason;
  };

  t.test("within the grace, while the successor is unused, the rotated token rotates again; the unused pair dies", async (t) => {
    const first = await start();
    const lost = await turn(first); // the answer the client never got
    graceClock.advance(5);
    const retry = await turn(first);
    t.not(retry.refresh_token, lost.refresh_token);
    t.equal(await isBlocklisted(lost.access_token), true, "the lost answer's access token is blocklisted");
    t.equal(await isBlocklisted(retry.access_token), false);
    graceClock.advance(REPLAY_AFTER);
    t.ok((await turn(retry.refresh_token!)).refresh_token, "the retry's refresh token rotates");
    t.equal(await familyRevokedReason(first), null, "the session goes on");
  });

  t.test("a second retry right after the first (its read after the first's commit) is a concurrent loser: the first retry's pair lives", async (t) => {
    const first = await start();
    await turn(first);
    graceClock.advance(5);
    const retry = await turn(first);
    await t.rejects(turn(first), { constructor: InvalidGrant, message: CONCURRENT.message });
    t.equal(await isBlocklisted(retry.access_token), false, "the first retry's access token lives");
    graceClock.advance(REPLAY_AFTER);
    t.ok((await turn(retry.refresh_token!)).refresh_token, "and its refresh token rotates");
    t.equal(await familyRevokedReason(first), null, "the session goes on");
  });

  t.test("twenty concurrent retries of the rotated token within the grace: one rotates again, the others are concurrent losers", async (t) => {
    const first = await start();
    const lost = await turn(first);
    graceClock.advance(5);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => turn(first)));
    const won = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason as Error] : []));
    t.equal(won.length, 1, "exactly one new pair");
    t.equal(refused.length, 19);
    t.ok(refused.every((e) => e instanceof InvalidGrant && e.message === CONCURRENT.message), "every other one: invalid_grant, concurrent");
    t.equal(await familyRevokedReason(first), null, "no reuse detected: the session goes on");
    t.equal(await isBlocklisted(lost.access_token), true, "the lost answer's access token is blocklisted");
    t.equal(await isBlocklisted(won[0]!.access_token), false);
    graceClock.advance(REPLAY_AFTER);
    t.ok((await turn(won[0]!.refresh_token!)).refresh_token, "the winner's refresh token rotates");
  });

  t.test("the replaced token (the lost answer's), presented after all, is reuse", async (t) => {
    const first = await start();
    const lost = await turn(first);
    graceClock.advance(5);
    const retry = await turn(first);
    graceClock.advance(REPLAY_AFTER);
    await t.rejects(turn(lost.refresh_token!), { message: "refresh token is invalid" });
    t.equal(await familyRevokedReason(first), "reuse");
    t.equal(await isBlocklisted(retry.access_token), true);
  });

  t.test("within the window it is still a concurrent loser: invalid_grant, no second rotation", async (t) => {
    const first = await start();
    const winner = await turn(first);
    graceClock.advance(REPLAY_AFTER - 0.001);
    await t.rejects(turn(first), CONCURRENT);
    t.equal(await isBlocklisted(winner.access_token), false);
    t.ok((await turn(winner.refresh_token!)).refresh_token, "the winner's refresh token rotates");
  });

  t.test("after the grace it is reuse: the family is revoked", async (t) => {
    const first = await start();
    const next = await turn(first);
    graceClock.advance(10);
    await t.rejects(turn(first), { message: "refresh token is invalid" });
    t.equal(await familyRevokedReason(first), "reuse");
    t.equal(await isBlocklisted(next.access_token), true);
  });

  t.test("once the successor was used it is reuse, even within the grace", async (t) => {
    const first = await start();
    const second = await turn(first);
    graceClock.advance(REPLAY_AFTER);
    const third = await turn(second.refresh_token!);
    graceClock.advance(REPLAY_AFTER);
    await t.rejects(turn(first), { message: "refresh token is invalid" });
    t.equal(await familyRevokedReason(first), "reuse");
    t.equal(await isBlocklisted(third.access_token), true);
  });
});

t.test("a refused client check leaves the token unconsumed and usable by its owner", async (t) => {
  const token = await newToken();
  const stranger = await clientRecord();
  await t.rejects(service.rotate(token, sameClient(stranger)), InvalidGrant);
  t.equal((await rowOf(token))!.usedAt, null);
  t.ok((await rotate(token)).refresh_token);
});

t.test("scope", async (t) => {
  t.test("narrowing applies to the access token; the new refresh token keeps the family's scope", async (t) => {
    const token = await newToken();
    const narrowed = await rotate(token, () => ["read"]);
    t.equal(narrowed.scope, "read");
    t.equal(decodeJwt(narrowed.access_token).scope, "read");
    t.equal((await rowOf(narrowed.refresh_token!))!.scope, "read write");
    const full = await rotate(narrowed.refresh_token!);
    t.equal(full.scope, "read write");
  });

  t.test("a refused scope does not burn the token (the client may retry with a valid scope)", async (t) => {
    const token = await newToken();
    await t.rejects(
      rotate(token, () => {
        throw new InvalidScope("not allowed");
      }),
      InvalidScope,
    );
    t.equal((await rowOf(token))!.usedAt, null, "the token is still unused");
    await t.resolves(rotate(token), "and rotates afterwards");
  });
});

t.test("a disabled user's tokens no longer rotate", async (t) => {
  const bob = await app.services.users.create("bob", "bob-password-1");
  const { refresh_token } = await service.startSession({ grantType: "password", client, user: bob, scope: ["read"], audience: API });
  await app.services.users.setEnabled("bob", false);
  await t.rejects(rotate(refresh_token!), InvalidGrant);
  await app.services.users.setEnabled("bob", true);
  t.ok((await rotate(refresh_token!)).refresh_token, "not consumed by the refusal: works again once re-enabled");
});

t.test("unknown, malformed and empty tokens are invalid_grant", async (t) => {
  for (const presented of ["", "garbage", "A".repeat(43), "A".repeat(44), `${"A".repeat(42)}=`]) {
    await t.rejects(rotate(presented), InvalidGrant, JSON.stringify(presented));
  }
});

t.test("a client without the refresh_token grant gets no refresh token and nothing is stored", async (t) => {
  const noRefresh = await clientRecord({ grantTypes: ["password"] });
  const before = await db.refreshToken.count();
  const response = await startSession(["read"], noRefresh);
  t.notOk("refresh_token" in response);
  t.equal(decodeJwt(response.access_token).client_id, noRefresh.id);
  t.equal(await db.refreshToken.count(), before);
});

t.test("revokeFamilyOf", async (t) => {
  t.test("revokes the family once and records it", async (t) => {
    const first = await newToken();
    const second = (await rotate(first)).refresh_token!;
    t.equal(await service.revokeFamilyOf(second, "logout"), true);
    t.equal(await service.revokeFamilyOf(second, "logout"), false, "already revoked");
    await t.rejects(rotate(second), InvalidGrant);
    const familyId = (await rowOf(first))!.familyId;
    const family = await db.refreshFamily.findUnique({ where: { id: familyId } });
    t.equal(family!.revokedReason, "logout");
    const [entry] = (await app.services.audit.list(50)).filter((e) => e.target === `refresh_family:${familyId}`);
    t.equal(entry?.action, "refresh_family.revoke");
    t.equal(entry?.details.reason, "logout");
  });

  t.test("unknown or malformed tokens change nothing", async (t) => {
    const revokedBefore = await db.refreshFamily.count({ where: { revokedAt: { not: null } } });
    t.equal(await service.revokeFamilyOf("A".repeat(43), "logout"), false);
    t.equal(await service.revokeFamilyOf("nonsense", "logout"), false);
    t.equal(await db.refreshFamily.count({ where: { revokedAt: { not: null } } }), revokedBefore);
  });
});
