// Remembered consent (authorization/consent.ts) and code issuance (authorization/code.ts) through the
// services /authorize uses: covers() decides whether to ask again; revokeById checks the user it is
// given; a code for a user who no longer exists is refused without a row.
import { randomUUID } from "node:crypto";
import t from "tap";
import { covers } from "../../../src/domain/authorization/consent.js";
import { issueAuthorizationCode } from "../../../src/domain/authorization/code.js";
import { InvalidRequest } from "../../../src/errors/oauth.js";
import { NotFoundError } from "../../../src/errors/internal.js";
import type { GrantRecord } from "../../../src/storage/grants.js";
import { buildTestApp } from "../../helpers/app.js";

const API = "https://api.example.test";
const OTHER = "https://other.example.test";

t.test("covers: every scope and audience asked for must be in the live grant", async (t) => {
  const at = new Date(0);
  const grant: GrantRecord = { id: "g", userId: "u", clientId: "c", scope: ["read", "write"], audience: [API], createdAt: at, updatedAt: at, revokedAt: null };
  t.equal(covers(grant, ["read"], [API]), true);
  t.equal(covers(grant, ["write", "read"], [API]), true);
  t.equal(covers(grant, [], []), true, "asking for nothing is covered");
  t.equal(covers(grant, ["read", "admin"], [API]), false, "one more scope asks again");
  t.equal(covers(grant, ["read"], [API, OTHER]), false, "one more audience asks again");
  t.equal(covers({ ...grant, revokedAt: at }, ["read"], [API]), false, "a revoked grant covers nothing");
  t.equal(covers(null, [], []), false, "no grant covers nothing, not even an empty request");
});

t.test("the consent service: find, record (widening), revoke by id for the right user only", async (t) => {
  const { app, createClient } = await buildTestApp(t);
  const { grants } = app.services;
  const { clientId } = await createClient({ grantTypes: ["authorization_code"], redirectUris: ["https://app.example.test/cb"], audiences: [API, OTHER] });
  const alice = await app.services.users.create("alice", "alice-password-1");
  const bob = await app.services.users.create("bob", "bob-password-1");
  t.equal(await grants.findGrant(alice.id, clientId), null, "none yet");
  const id = await grants.recordConsent({ userId: alice.id, clientId, scope: ["read"], audience: [API] });
  t.equal(await grants.recordConsent({ userId: alice.id, clientId, scope: ["write"], audience: [OTHER] }), id, "the same grant, widened");
  const found = await grants.findGrant(alice.id, clientId);
  t.strictSame([found!.scope, found!.audience], [["read", "write"], [API, OTHER]]);
  t.equal(covers(found, ["read", "write"], [OTHER]), true);

  await t.rejects(grants.revokeById(id, "test", bob.id), new NotFoundError(`no live grant ${id}`), "not bob's grant");
  await t.rejects(grants.revokeById(randomUUID(), "test"), NotFoundError);
  t.strictSame(await grants.revokeById(id, "test", alice.id), { grantId: id, families: 0, accessTokensRevoked: 0 });
  t.equal(await grants.findGrant(alice.id, clientId), null, "revoked: no live grant");
  await t.rejects(grants.revokeById(id, "test"), new NotFoundError(`no live grant ${id}`), "revoked already");
});

t.test("issueAuthorizationCode: a code for a user who no longer exists is refused, and nothing is stored", async (t) => {
  const { app, createClient } = await buildTestApp(t);
  const { clientId } = await createClient({ grantTypes: ["authorization_code"], redirectUris: ["https://app.example.test/cb"], audiences: [API] });
  const binding = {
    clientId,
    userId: randomUUID(),
    grantId: randomUUID(),
    sessionId: randomUUID(),
    redirectUri: "https://app.example.test/cb",
    redirectUriSent: true,
    codeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    scope: [],
    audience: [API],
    authTime: new Date(app.services.clock.now()),
  };
  await t.rejects(issueAuthorizationCode(app.services, binding), new InvalidRequest("the client or user of this request no longer exists"));
  t.equal(await app.services.db.authorizationCode.count(), 0);
});
