// pruneExpired: blocklist entries go once their token has expired, refresh tokens once they have
// expired, families once they have expired or were revoked more than a day ago; everything that may
// still matter stays. Time moves on a settable clock; rows are counted in the database. Then
// `tessera prune` as an operator runs it: a real process on the same database.
import os from "node:os";
import path from "node:path";
import t, { type Test } from "tap";
import { decodeJwt } from "jose";
import type { LightMyRequestResponse } from "fastify";
import { pruneExpired } from "../../src/domain/maintenance.js";
import { basic, buildTestApp, form, type TestApp } from "../helpers/app.js";
import { runCli } from "../helpers/cli.js";
import { issueCode } from "../helpers/code-flow.js";
import { SettableClock } from "../helpers/clock.js";
import { FORM } from "../helpers/oauth.js";

const HOUR = 3600;
const DAY = 24 * HOUR;

type Creds = { clientId: string; clientSecret: string };
type Pair = { access_token: string; refresh_token: string };

/** An app with a client-credentials client, a first-party client and a user, and the calls the tests need. */
async function setup(t: Test, clock?: SettableClock) {
  const built: TestApp = await buildTestApp(t, {}, clock);
  const { app } = built;
  const db = app.services.db;
  const svc = await built.createClient();
  const web = await built.createClient({ firstParty: true, grantTypes: ["password", "refresh_token"] });
  await app.services.users.create("alice", "alice-password-1");

  const post = (url: string, creds: Creds, params: Record<string, string>): Promise<LightMyRequestResponse> =>
    app.inject({ method: "POST", url, headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) }, payload: form(params) });

  async function ok(res: Promise<LightMyRequestResponse>) {
    const done = await res;
    if (done.statusCode !== 200) throw new Error(`${done.statusCode}: ${done.body}`);
    return done;
  }

  return {
    ...built,
    db,
    prune: () => pruneExpired(db, built.clock),
    counts: async () => ({
      blocklist: await db.revokedAccessToken.count(),
      families: await db.refreshFamily.count(),
      tokens: await db.refreshToken.count(),
    }),
    blocklistedJtis: async () => (await db.revokedAccessToken.findMany({ select: { jti: true } })).map((r) => r.jti).sort(),
    accessToken: async (): Promise<string> => (await ok(post("/token", svc, { grant_type: "client_credentials" }))).json().access_token,
    signIn: async (): Promise<Pair> =>
      (await ok(post("/token", web, { grant_type: "password", username: "alice", password: "alice-password-1" }))).json(),
    rotate: async (refreshToken: string): Promise<Pair> =>
      (await ok(post("/token", web, { grant_type: "refresh_token", refresh_token: refreshToken }))).json(),
    refreshGrant: (refreshToken: string) => post("/token", web, { grant_type: "refresh_token", refresh_token: refreshToken }),
    revoke: async (creds: "svc" | "web", token: string) => ok(post("/revoke", creds === "svc" ? svc : web, { token })),
    active: async (creds: "svc" | "web", token: string): Promise<boolean> =>
      (await ok(post("/introspect", creds === "svc" ? svc : web, { token }))).json().active,
  };
}

const jtiOf = (token: string) => decodeJwt(token).jti!;

t.test("blocklist entries go once their token has expired; live ones stay", async (t) => {
  const s = await setup(t);
  const first = await s.accessToken(); // exp t0+900
  await s.revoke("svc", first);
  s.clock.advance(600);
  const second = await s.accessToken(); // exp t0+1500
  await s.revoke("svc", second);
  t.same(await s.blocklistedJtis(), [jtiOf(first), jtiOf(second)].sort());

  t.same(await s.prune(), { revokedAccessTokens: 0, refreshTokenRows: 0, clientAssertions: 0, authorizationCodes: 0, browserSessions: 0, dpopProofs: 0, pushedAuthorizationRequests: 0 }, "nothing is due at t0+600");
  s.clock.advance(299);
  t.same(await s.prune(), { revokedAccessTokens: 0, refreshTokenRows: 0, clientAssertions: 0, authorizationCodes: 0, browserSessions: 0, dpopProofs: 0, pushedAuthorizationRequests: 0 }, "nothing is due a second before the first exp");
  t.equal((await s.counts()).blocklist, 2);

  s.clock.advance(1);
  t.same(await s.prune(), { revokedAccessTokens: 1, refreshTokenRows: 0, clientAssertions: 0, authorizationCodes: 0, browserSessions: 0, dpopProofs: 0, pushedAuthorizationRequests: 0 }, "the first goes at its exp");
  t.same(await s.blocklistedJtis(), [jtiOf(second)], "the second stays");
  t.notOk(await s.active("svc", first), "the pruned one is still inactive (expired)");
  t.notOk(await s.active("svc", second), "the kept one is still inactive (blocklisted)");

  s.clock.advance(600);
  t.same(await s.prune(), { revokedAccessTokens: 1, refreshTokenRows: 0, clientAssertions: 0, authorizationCodes: 0, browserSessions: 0, dpopProofs: 0, pushedAuthorizationRequests: 0 }, "the second goes at its exp");
  t.equal((await s.counts()).blocklist, 0);
  t.notOk(await s.active("svc", second));

  t.same(await s.prune(), { revokedAccessTokens: 0, refreshTokenRows: 0, clientAssertions: 0, authorizationCodes: 0, browserSessions: 0, dpopProofs: 0, pushedAuthorizationRequests: 0 }, "pruning again finds nothing");
});

t.test("refresh tokens and families: the dead go, the live and the recently revoked stay", async (t) => {
  const s = await setup(t);
  const live1 = await s.signIn();
  const live2 = await s.rotate(live1.refresh_token); // live1's token is now used, but within its lifetime
  const revoked = await s.signIn();
  await s.revoke("web", revoked.refresh_token); // family revoked at t0; its access token blocklisted
  t.same(await s.counts(), { blocklist: 1, families: 2, tokens: 3 });

  t.same(await s.prune(), { revokedAccessTokens: 0, refreshTokenRows: 0, clientAssertions: 0, authorizationCodes: 0, browserSessions: 0, dpopProofs: 0, pushedAuthorizationRequests: 0 }, "nothing is due at t0");
  t.same(await s.counts(), { blocklist: 1, families: 2, tokens: 3 });

  s.clock.advance(DAY - 1);
  t.same(await s.prune(), { revokedAccessTokens: 1, refreshTokenRows: 0, clientAssertions: 0, authorizationCodes: 0, browserSessions: 0, dpopProofs: 0, pushedAuthorizationRequests: 0 }, "the revoked family's access token entry went at its exp");
  t.same(await s.counts(), { blocklist: 0, families: 2, tokens: 3 }, "a family revoked less than a day ago stays");

  s.clock.advance(1);
  await s.prune();
  t.same(await s.counts(), { blocklist: 0, families: 1, tokens: 2 }, "a day after its revocation the family goes, its token with it");
  t.notOk(await s.active("web", revoked.refresh_token));
  t.equal((await s.refreshGrant(revoked.refresh_token)).statusCode, 400, "its token is refused");

  const live3 = await s.rotate(live2.refresh_token); // t0+1d: the live family goes on
  t.same(await s.counts(), { blocklist: 0, families: 1, tokens: 3 });

  s.clock.advance(6 * DAY - 1); // t0+7d-1s: live1 and live2 expire at t0+7d
  t.same(await s.prune(), { revokedAccessTokens: 0, refreshTokenRows: 0, clientAssertions: 0, authorizationCodes: 0, browserSessions: 0, dpopProofs: 0, pushedAuthorizationRequests: 0 });
  s.clock.advance(1);
  t.same(await s.prune(), { revokedAccessTokens: 0, refreshTokenRows: 2, clientAssertions: 0, authorizationCodes: 0, browserSessions: 0, dpopProofs: 0, pushedAuthorizationRequests: 0 }, "the two used tokens go at their idle expiry");
  t.same(await s.counts(), { blocklist: 0, families: 1, tokens: 1 });
  t.ok(await s.active("web", live3.refresh_token), "the newest token of the family is untouched");
  const live4 = await s.rotate(live3.refresh_token);

  s.clock.advance(23 * DAY - 1); // t0+30d-1s: the family ends at t0+30d
  t.same(await s.prune(), { revokedAccessTokens: 0, refreshTokenRows: 2, clientAssertions: 0, authorizationCodes: 0, browserSessions: 0, dpopProofs: 0, pushedAuthorizationRequests: 0 }, "live3 (used) and live4 went at their idle expiry");
  t.same(await s.counts(), { blocklist: 0, families: 1, tokens: 0 }, "the family itself lives until its absolute expiry");
  t.notOk(await s.active("web", live4.refresh_token));
  s.clock.advance(1);
  t.same(await s.prune(), { revokedAccessTokens: 0, refreshTokenRows: 1, clientAssertions: 0, authorizationCodes: 0, browserSessions: 0, dpopProofs: 0, pushedAuthorizationRequests: 0 }, "the family goes at its absolute expiry");
  t.same(await s.counts(), { blocklist: 0, families: 0, tokens: 0 });
});

t.test("a family at its absolute expiry goes with its last token", async (t) => {
  const s = await setup(t);
  let pair = await s.signIn();
  for (let day = 6; day <= 24; day += 6) {
    s.clock.advance(6 * DAY);
    pair = await s.rotate(pair.refresh_token);
  }
  s.clock.advance(5 * DAY); // t0+29d: the newest token's expiry is the family's, t0+30d
  pair = await s.rotate(pair.refresh_token);
  await s.prune(); // the used tokens of the first 22 days are past their idle expiry
  t.same(await s.counts(), { blocklist: 0, families: 1, tokens: 2 }, "the tokens of days 24 and 29 are left");
  s.clock.advance(DAY);
  t.same(await s.prune(), { revokedAccessTokens: 0, refreshTokenRows: 3, clientAssertions: 0, authorizationCodes: 0, browserSessions: 0, dpopProofs: 0, pushedAuthorizationRequests: 0 }, "two tokens and the family");
  t.same(await s.counts(), { blocklist: 0, families: 0, tokens: 0 });
  t.equal((await s.refreshGrant(pair.refresh_token)).statusCode, 400);
});

t.test("a used token within its lifetime is kept, so that its reuse is still detected after pruning", async (t) => {
  const s = await setup(t);
  const first = await s.signIn();
  const second = await s.rotate(first.refresh_token);
  s.clock.advance(6 * DAY);
  await s.prune();
  t.same(await s.counts(), { blocklist: 0, families: 1, tokens: 2 });
  const reuse = await s.refreshGrant(first.refresh_token);
  t.equal(reuse.statusCode, 400);
  t.equal(reuse.json().error, "invalid_grant");
  t.notOk(await s.active("web", second.refresh_token), "reuse detection revoked the family");
  t.equal((await s.refreshGrant(second.refresh_token)).statusCode, 400);
});

t.test("live state is left alone however often pruning runs", async (t) => {
  const s = await setup(t);
  const pair = await s.signIn();
  const token = await s.accessToken();
  await s.revoke("svc", token);
  const before = await s.counts();
  for (let i = 0; i < 3; i++) t.same(await s.prune(), { revokedAccessTokens: 0, refreshTokenRows: 0, clientAssertions: 0, authorizationCodes: 0, browserSessions: 0, dpopProofs: 0, pushedAuthorizationRequests: 0 });
  t.same(await s.counts(), before);
  t.ok(await s.active("web", pair.refresh_token));
  t.ok(await s.active("web", pair.access_token));
  t.notOk(await s.active("svc", token), "the revoked token stays revoked");
});

t.test("the count is the number of rows that went, a revoked family's tokens included", async (t) => {
  const s = await setup(t);
  const first = await s.signIn();
  const second = await s.rotate(first.refresh_token);
  await s.revoke("web", second.refresh_token);
  t.same(await s.counts(), { blocklist: 2, families: 1, tokens: 2 });
  s.clock.advance(DAY);
  const before = await s.counts();
  const result = await s.prune();
  const after = await s.counts();
  t.same(after, { blocklist: 0, families: 0, tokens: 0 }, "everything went");
  t.equal(result.revokedAccessTokens, before.blocklist - after.blocklist);
  t.equal(result.refreshTokenRows, before.tokens - after.tokens + (before.families - after.families), "two tokens and one family: 3 rows");
});

t.test("tessera prune --json, a real process on the app's database, prunes by the real clock and prints the counts", async (t) => {
  // Dead state made in 2020 and live state made in 2100, so the real clock of the process sits between.
  const clock = new SettableClock(Date.UTC(2020, 0, 1));
  const s = await setup(t, clock);
  const dead = await s.signIn();
  await s.revoke("svc", await s.accessToken());
  clock.advance((Date.UTC(2100, 0, 1) - clock.now()) / 1000);
  const live = await s.signIn();
  const liveAccess = await s.accessToken();
  await s.revoke("svc", liveAccess);
  t.same(await s.counts(), { blocklist: 2, families: 2, tokens: 2 });

  const env = {
    ...process.env,
    DATABASE_URL: s.config.databaseUrl,
    TESSERA_KEK: s.config.kek!,
    TESSERA_KEK_FILE: path.join(os.tmpdir(), "tessera-prune-test-unused-kek"),
  };
  const tessera = (...args: string[]) => runCli(args, { env });

  const run = await tessera("prune", "--json");
  t.equal(run.code, 0, `exits 0 ${run.stderr}`);
  t.strictSame(JSON.parse(run.stdout), { revokedAccessTokens: 1, refreshTokenRows: 2, clientAssertions: 0, authorizationCodes: 0, browserSessions: 0, dpopProofs: 0, pushedAuthorizationRequests: 0 }, "the 2020 blocklist entry, token and family");
  t.same(await s.counts(), { blocklist: 1, families: 1, tokens: 1 });
  t.same(await s.blocklistedJtis(), [jtiOf(liveAccess)], "the 2100 entry stays");
  t.equal((await s.refreshGrant(dead.refresh_token)).statusCode, 400, "the 2020 token is gone");
  const rotated = await s.rotate(live.refresh_token);
  t.ok(rotated.refresh_token, "the 2100 sign-in still rotates");

  const again = await tessera("prune");
  t.equal(again.code, 0, `exits 0 ${again.stderr}`);
  t.equal(again.stdout, "revokedAccessTokens: 0\nrefreshTokenRows: 0\nclientAssertions: 0\nauthorizationCodes: 0\nbrowserSessions: 0\ndpopProofs: 0\npushedAuthorizationRequests: 0\n", "people get key: value lines; nothing left to prune");
});

t.test("used client-assertion ids go once the assertion has expired", async (t) => {
  const { app, clock } = await buildTestApp(t);
  const { assertions, db } = app.services;
  const now = clock.now();
  t.equal(await assertions.useOnce("client-a jti-1", new Date(now + 60_000)), true);
  t.equal(await assertions.useOnce("client-a jti-1", new Date(now + 60_000)), false, "a replay is refused while remembered");
  t.equal(await assertions.useOnce("client-a jti-2", new Date(now + 120_000)), true);
  clock.advance(60);
  t.equal((await pruneExpired(db, clock)).clientAssertions, 1, "the first expired: gone");
  t.equal(await db.usedClientAssertion.count(), 1, "the live one stays");
});

t.test("authorization codes go a day after their expiry, once the access token they issued has expired too", async (t) => {
  const { app, clock, createClient } = await buildTestApp(t);
  const { db } = app.services;
  const web = await createClient({ grantTypes: ["authorization_code"], redirectUris: ["https://app.example.test/cb"], audiences: ["https://api.example.test"] });
  const user = await app.services.users.create("bob", "bob-password-1");
  const binding = { redirectUri: "https://app.example.test/cb", audience: ["https://api.example.test"] };
  const unused = await issueCode(app, user.id, web.clientId, binding);
  const used = await issueCode(app, user.id, web.clientId, binding);
  const exchanged = await app.inject({
    method: "POST",
    url: "/token",
    headers: { ...FORM, authorization: basic(web.clientId, web.clientSecret) },
    payload: form({ grant_type: "authorization_code", code: used.code, code_verifier: used.verifier, redirect_uri: "https://app.example.test/cb" }),
  });
  t.equal(exchanged.statusCode, 200);

  clock.advance(60);
  t.equal((await pruneExpired(db, clock)).authorizationCodes, 0, "expired, but a late replay must still be recognised");
  clock.advance(DAY - 1);
  t.equal((await pruneExpired(db, clock)).authorizationCodes, 0, "a second before the day is over");
  clock.advance(1);
  t.equal((await pruneExpired(db, clock)).authorizationCodes, 2, "both went: the access token (15 min) expired long ago");
  t.equal(await db.authorizationCode.count(), 0);
  t.equal(unused.grantId, used.grantId);
});

t.test("browser sessions go at their absolute expiry or once ended", async (t) => {
  const { app, clock } = await buildTestApp(t);
  const { db } = app.services;
  const user = await app.services.users.create("bob", "bob-password-1");
  const now = new Date(clock.now());
  const session = (id: string, expiresInSeconds: number, endedAt: Date | null = null) => ({
    id, digest: `digest-${id}`, userId: user.id, authTime: now, createdAt: now, lastSeenAt: now, expiresAt: new Date(now.getTime() + expiresInSeconds * 1000), endedAt,
  });
  await db.browserSession.createMany({ data: [session("live", 3600), session("ended", 3600, now), session("expiring", 60)] });
  t.equal((await pruneExpired(db, clock)).browserSessions, 1, "the ended one");
  clock.advance(60);
  t.equal((await pruneExpired(db, clock)).browserSessions, 1, "the expired one");
  t.strictSame((await db.browserSession.findMany({ select: { id: true } })).map((s) => s.id), ["live"]);
});
