// Two instances on one database: each serves clients from memory and converges on refresh().
// CACHE_REFRESH is an hour so that the background poller never runs during a test: only the
// explicit refresh() calls below move instance B.
import { setTimeout as delay } from "node:timers/promises";
import t from "tap";
import { ClientRegistry } from "../../../src/domain/clients/client-registry.js";
import { ClientRepository } from "../../../src/storage/clients.js";
import { basic, buildTestApp, form, type TestApp } from "../../helpers/app.js";
import { slowReads } from "../../helpers/slow-reads.js";
import { storedSigningKeys } from "../../helpers/stored-keys.js";

const token = (instance: TestApp, clientId: string, secret: string) =>
  instance.app.inject({
    method: "POST",
    url: "/token",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(clientId, secret) },
    payload: form({ grant_type: "client_credentials" }),
  });

async function twoInstances(t: { teardown(fn: () => unknown): void }) {
  const a = await buildTestApp(t, { CACHE_REFRESH: "1h" });
  const b = await buildTestApp(t, { CACHE_REFRESH: "1h", DATABASE_URL: a.config.databaseUrl, TESSERA_KEK: a.config.kek! });
  return { a, b };
}

t.test("both instances serve the same signing key; the second did not make its own", async (t) => {
  const { a, b } = await twoInstances(t);
  t.type(a.app.services.keys.signer?.kid, "string");
  t.equal(b.app.services.keys.signer?.kid, a.app.services.keys.signer?.kid);
  t.equal(b.app.services.keys.jwks.body, a.app.services.keys.jwks.body);
  t.equal((await storedSigningKeys(a.config.databaseUrl)).length, 1);
});

t.test("a client created through A is unknown to B until B refreshes", async (t) => {
  const { a, b } = await twoInstances(t);
  const { clientId, clientSecret } = await a.createClient();
  t.equal((await token(a, clientId, clientSecret)).statusCode, 200, "A knows it at once");

  t.equal(b.app.services.clients.get(clientId), undefined);
  t.equal((await token(b, clientId, clientSecret)).statusCode, 401, "B has not seen it yet");

  await b.app.services.clients.refresh();
  t.equal(b.app.services.clients.get(clientId)?.id, clientId);
  t.equal((await token(b, clientId, clientSecret)).statusCode, 200, "B serves it after refresh");
});

t.test("disabling through A reaches B on refresh", async (t) => {
  const { a, b } = await twoInstances(t);
  const { clientId, clientSecret } = await a.createClient();
  await b.app.services.clients.refresh();

  await a.app.services.clientAdmin.disable(clientId);
  t.equal((await token(a, clientId, clientSecret)).statusCode, 401, "A refuses it at once");
  t.equal(b.app.services.clients.get(clientId)?.enabled, true, "B still holds the old copy");

  await b.app.services.clients.refresh();
  t.equal(b.app.services.clients.get(clientId)?.enabled, false);
  const res = await token(b, clientId, clientSecret);
  t.equal(res.statusCode, 401);
  t.equal(res.json().error, "invalid_client");
});

t.test("a secret rotated through A reaches B on refresh", async (t) => {
  const { a, b } = await twoInstances(t);
  const { clientId, clientSecret: oldSecret } = await a.createClient();
  await b.app.services.clients.refresh();

  const { clientSecret: newSecret } = await a.app.services.clientAdmin.rotateSecret(clientId);
  t.not(newSecret, oldSecret);
  t.equal((await token(b, clientId, newSecret)).statusCode, 401, "B does not know the new secret before refresh");

  await b.app.services.clients.refresh();
  t.equal((await token(b, clientId, newSecret)).statusCode, 200);
  t.equal((await token(b, clientId, oldSecret)).statusCode, 401, "without a grace period the old secret stops at once");
});

t.test("a rotation with a grace period keeps the old secret valid on B until it ends", async (t) => {
  const { a, b } = await twoInstances(t);
  const { clientId, clientSecret: oldSecret } = await a.createClient();
  const { clientSecret: newSecret } = await a.app.services.clientAdmin.rotateSecret(clientId, 60);
  await b.app.services.clients.refresh();

  t.equal((await token(b, clientId, newSecret)).statusCode, 200);
  t.equal((await token(b, clientId, oldSecret)).statusCode, 200, "the old secret works during the grace period");
  b.clock.advance(61);
  t.equal((await token(b, clientId, oldSecret)).statusCode, 401, "and not after it");
  t.equal((await token(b, clientId, newSecret)).statusCode, 200);
});

t.test("a client deleted through A is gone from B after refresh", async (t) => {
  const { a, b } = await twoInstances(t);
  const { clientId, clientSecret } = await a.createClient();
  await b.app.services.clients.refresh();
  t.equal((await token(b, clientId, clientSecret)).statusCode, 200);

  await a.app.services.clientAdmin.delete(clientId);
  t.ok(b.app.services.clients.get(clientId), "B still holds it before refresh");
  await b.app.services.clients.refresh();
  t.equal(b.app.services.clients.get(clientId), undefined);
  t.equal((await token(b, clientId, clientSecret)).statusCode, 401);
});

t.test("two overlapping reloads, the older read finishing last: the newer state stays (single-flight, by version)", async (t) => {
  const a = await buildTestApp(t, { CACHE_REFRESH: "1h" });
  const { clientId, clientSecret } = await a.createClient();
  // Instance B's registry, on a client whose next read of the clients table answers late.
  const slow = await slowReads(t, a.config.databaseUrl, "client");
  const registry = new ClientRegistry(new ClientRepository(slow.db));
  await registry.refresh();
  t.equal(registry.get(clientId)?.enabled, true);

  await a.app.services.clientAdmin.update(clientId, { name: "renamed" }); // a change for B to reload
  const reading = slow.holdNext();
  const older = registry.refresh();
  await reading; // the older reload has read the client, still enabled; its answer is held
  await a.app.services.clientAdmin.disable(clientId);
  const newer = registry.refresh(); // asked after the disable: must end with it disabled
  // Give the newer reload time to run, if it runs alongside the held one (the old code: it did,
  // and finished first). Only the demonstration on the old code depends on this wait; with
  // single-flight the newer reload starts after the older one whatever the timing.
  await Promise.race([newer, delay(1000)]);
  slow.release();
  await Promise.all([older, newer]);
  t.equal(registry.get(clientId)?.enabled, false, "the disable holds: the older copy did not come back");
  t.equal(registry.get(clientId)?.name, "renamed");
  t.equal(slow.reads(), 3, "one read for the start, one per reload");

  await a.app.services.clientAdmin.update(clientId, { enabled: true });
  await Promise.all([registry.refresh(), registry.refresh(), registry.refresh()]);
  t.equal(slow.reads(), 4, "three refreshes asked at once share one reload");
  t.equal(registry.get(clientId)?.enabled, true);
  const b = await buildTestApp(t, { CACHE_REFRESH: "1h", DATABASE_URL: a.config.databaseUrl, TESSERA_KEK: a.config.kek! });
  t.equal((await token(b, clientId, clientSecret)).statusCode, 200);
});
