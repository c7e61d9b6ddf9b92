// UserService.setPassword ends the user's sessions (OWASP Session Management Cheat Sheet: renew
// sessions after a password change): every refresh-token family of the user is revoked and its live
// access tokens are blocklisted, whoever calls it (the CLI, an admin route). Other users keep theirs.
import t from "tap";
import { decodeJwt } from "jose";
import { InvalidGrant } from "../../../src/errors/oauth.js";
import type { ClientRecord } from "../../../src/storage/clients.js";
import { buildTestApp } from "../../helpers/app.js";

const { app, createClient } = await buildTestApp(t);
const { users, refreshTokens, db } = app.services;
const { clientId } = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"] });
const client = app.services.clients.get(clientId)!;
const sameClient = (family: { clientId: string }): ClientRecord => {
  if (family.clientId !== client.id) throw new InvalidGrant("refresh token is invalid");
  return client;
};

const signIn = async (username: string) => {
  const user = await users.authenticate(username, `${username}-password-1`);
  return refreshTokens.startSession({ grantType: "password", client, user, scope: ["read"], audience: "https://api.example.test" });
};
const blocklisted = async (accessToken: string) => (await db.revokedAccessToken.findUnique({ where: { jti: decodeJwt(accessToken).jti! } })) !== null;

t.test("setPassword revokes every family of the user and blocklists their live access tokens", async (t) => {
  const alice = await users.create("alice", "alice-password-1");
  await users.create("bob", "bob-password-1");
  const first = await signIn("alice");
  const rotated = await refreshTokens.rotate(first.refresh_token!, sameClient);
  const second = await signIn("alice");
  const bobs = await signIn("bob");

  await users.setPassword("alice", "alice-password-2", "cli");

  for (const [name, pair] of [["first", first], ["rotated", rotated], ["second", second]] as const) {
    t.equal(await blocklisted(pair.access_token), true, `${name} access token blocklisted`);
  }
  for (const token of [rotated.refresh_token!, second.refresh_token!]) {
    await t.rejects(refreshTokens.rotate(token, sameClient), { message: "refresh token expired or revoked" });
  }
  const families = await db.refreshFamily.findMany({ where: { userId: alice.id } });
  t.same(families.map((f) => f.revokedReason), ["password_change", "password_change"]);
  const entry = (await app.services.audit.list(5)).find((e) => e.action === "user.set_password");
  t.same(entry?.details, { username: "alice", sessionsEnded: 2, accessTokensRevoked: 3, browserSessionsEnded: 0 });
  t.equal(entry?.actor, "cli");

  t.equal(await blocklisted(bobs.access_token), false, "another user's access token lives");
  t.ok((await refreshTokens.rotate(bobs.refresh_token!, sameClient)).refresh_token, "another user's session goes on");
  const after = await signIn("alice").catch(() => null);
  t.equal(after, null, "the old password no longer signs in");
  const fresh = await refreshTokens.startSession({ grantType: "password", client, user: await users.authenticate("alice", "alice-password-2"), scope: ["read"], audience: "https://api.example.test" });
  t.equal(await blocklisted(fresh.access_token), false, "a sign-in with the new password starts a live session");
  t.ok((await refreshTokens.rotate(fresh.refresh_token!, sameClient)).refresh_token);
});

t.test("sessions: each expires when its newest token idles out, or at the family's absolute end when that comes first", async (t) => {
  // Absolute 1000 s, idle 400 s: a rotation at 700 s gets a token capped at 1000 s.
  const short = await buildTestApp(t, { REFRESH_TOKEN_TTL: "1000", REFRESH_IDLE_TTL: "400" });
  const { clientId: webId } = await short.createClient({ firstParty: true, grantTypes: ["password", "refresh_token"] });
  const web = short.app.services.clients.get(webId)!;
  const carol = await short.app.services.users.create("carol", "carol-password-1");
  const start = short.clock.now();
  const first = await short.app.services.refreshTokens.startSession({ grantType: "password", client: web, user: carol, scope: ["read"], audience: "https://api.example.test" });
  const expiresAt = async () => (await short.app.services.users.sessions(carol.id)).map((s) => s.expiresAt.getTime() - start);
  t.same(await expiresAt(), [400_000], "the newest token's idle expiry");
  short.clock.advance(350);
  const second = await short.app.services.refreshTokens.rotate(first.refresh_token!, () => web);
  t.same(await expiresAt(), [750_000], "moved on by the rotation");
  short.clock.advance(350);
  await short.app.services.refreshTokens.rotate(second.refresh_token!, () => web);
  t.same(await expiresAt(), [1000_000], "the family's absolute expiry, which comes first now");
});
