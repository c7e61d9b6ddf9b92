// Several tessera processes on one database, as deployed: real `src/server.ts` processes sharing
// DATABASE_URL and TESSERA_KEK, each reloading key state every CACHE_REFRESH (1 s here). Runs on
// PostgreSQL and on SQLite (one file in WAL mode, shared by the processes).
//
// What is shown here with processes: a rotation made through one instance reaches the other within
// the reload interval; each verifies the other's tokens; a resource server using jose's
// createRemoteJWKSet against one instance verifies tokens of both across a rotation without a
// single failure; and automatic rotation by two running instances yields exactly one new key.
// The exact "same moment" race of automatic rotation (several instances calling rotateIfDue
// concurrently) is test/domain/keys/key-manager.test.ts, which can line the calls up precisely.
//
// Waiting here is bounded polling for convergence between processes; nothing asserts on speed.
import { randomBytes } from "node:crypto";
import t, { type Test } from "tap";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { systemClock } from "../../src/domain/clock.js";
import { ClientService } from "../../src/domain/clients/client-service.js";
import { AuditRepository } from "../../src/storage/audit.js";
import { ClientRepository } from "../../src/storage/clients.js";
import { StatusListRepository } from "../../src/storage/status-lists.js";
import { openDb, type Db } from "../../src/storage/prisma.js";
import { basic, form } from "../helpers/app.js";
import { freshDatabaseUrl } from "../helpers/database.js";
import { eventually, startServer, type ServerProcess } from "../helpers/server-process.js";
import { storedSigningKeys } from "../helpers/stored-keys.js";

// Four real processes, each compiling the server with tsx on start.
t.setTimeout(600_000);

const ISSUER = "http://tessera.test";
const AUDIENCE = "https://api.example.test";
const FORM = { "content-type": "application/x-www-form-urlencoded" };
const RELOAD_WAIT_MS = 5_000; // CACHE_REFRESH is 1 s; 5 s leaves room for a busy machine

type Creds = { clientId: string; clientSecret: string };

async function tokenFrom(server: ServerProcess, creds: Creds, params: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}/token`, {
    method: "POST",
    headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) },
    body: form({ grant_type: "client_credentials", ...params }),
  });
}

async function accessToken(server: ServerProcess, creds: Creds, params: Record<string, string> = {}): Promise<string> {
  const res = await tokenFrom(server, creds, params);
  if (res.status !== 200) throw new Error(`${server.url}/token answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function jwksKids(server: ServerProcess): Promise<string[]> {
  const res = await fetch(`${server.url}/.well-known/jwks.json`);
  return ((await res.json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
}

async function introspect(server: ServerProcess, creds: Creds, token: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.url}/introspect`, {
    method: "POST",
    headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) },
    body: form({ token }),
  });
  return (await res.json()) as Record<string, unknown>;
}

/** A database with two tessera processes on it, and clients registered the way the CLI does it. */
async function cluster(t: Test, env: Record<string, string>) {
  const databaseUrl = await freshDatabaseUrl(t);
  const shared = { DATABASE_URL: databaseUrl, TESSERA_KEK: randomBytes(32).toString("base64"), TESSERA_ISSUER: ISSUER, CACHE_REFRESH: "1", ...env };
  // One after the other: the first applies the migrations and makes the first key.
  const a = await startServer(t, shared);
  const b = await startServer(t, shared);
  const db: Db = await openDb(databaseUrl);
  t.teardown(() => db.$disconnect());
  const clients = new ClientService({ repo: new ClientRepository(db), statusBlocks: new StatusListRepository(db), audit: new AuditRepository(db), clock: systemClock });
  const register = async (input: { scopes: string[]; audiences: string[] }): Promise<Creds> => {
    const { client, clientSecret } = await clients.create({ name: "multi-instance", grantTypes: ["client_credentials"], ...input }, "test");
    if (clientSecret === null) throw new Error("a client_secret_basic client must get a secret");
    const creds = { clientId: client.id, clientSecret };
    // Both instances load the new client on their next reload.
    for (const server of [a, b]) {
      const known = await eventually(async () => ((await tokenFrom(server, creds)).status === 200 ? true : undefined), RELOAD_WAIT_MS);
      if (!known) throw new Error(`${server.url} did not load client ${client.id} within ${RELOAD_WAIT_MS} ms`);
    }
    return creds;
  };
  return { databaseUrl, db, a, b, register };
}

t.test("two instances, one rotating through the admin API (KEY_ACTIVATION_DELAY=2)", async (t) => {
  const { databaseUrl, a, b, register } = await cluster(t, { KEY_ACTIVATION_DELAY: "2" });
  const adminCreds = await register({ scopes: ["admin"], audiences: [ISSUER] });
  const creds = await register({ scopes: ["read"], audiences: [AUDIENCE] });
  const adminToken = await accessToken(a, adminCreds, { scope: "admin" });
  const rotate = async (t: Test) => {
    const res = await fetch(`${a.url}/admin/keys/rotate`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ now: false }),
    });
    t.equal(res.status, 201, "POST /admin/keys/rotate on A");
    return (await res.json()) as { kid: string; state: string };
  };

  const [firstKey] = await storedSigningKeys(databaseUrl);
  t.same(await jwksKids(a), [firstKey!.kid], "A publishes the one key");
  t.same(await jwksKids(b), [firstKey!.kid], "B publishes the same key");

  t.test("a rotation on A is published by B within the reload interval, and B verifies A's tokens", async (t) => {
    const before = await accessToken(a, creds);
    const rotated = await rotate(t);
    t.equal(rotated.state, "pending");
    t.ok((await jwksKids(a)).includes(rotated.kid), "A publishes the new key at once");

    const onB = await eventually(async () => ((await jwksKids(b)).includes(rotated.kid) ? true : undefined), RELOAD_WAIT_MS);
    t.ok(onB, `B publishes A's new key within ${RELOAD_WAIT_MS} ms`);
    t.match(await introspect(b, creds, before), { active: true, client_id: creds.clientId }, "B verifies A's token of the old key");

    const signedByNew = await eventually(async () => {
      const token = await accessToken(a, creds);
      return decodeProtectedHeader(token).kid === rotated.kid ? token : undefined;
    }, 2_000 + RELOAD_WAIT_MS);
    t.ok(signedByNew, "A signs with the new key after the activation delay");
    t.match(await introspect(b, creds, signedByNew!), { active: true, client_id: creds.clientId }, "B verifies A's token of the new key");

    const fromB = await eventually(async () => {
      const token = await accessToken(b, creds);
      return decodeProtectedHeader(token).kid === rotated.kid ? token : undefined;
    }, RELOAD_WAIT_MS);
    t.ok(fromB, "B signs with the new key too");
    t.match(await introspect(a, creds, fromB!), { active: true }, "A verifies B's token");
    t.match(await introspect(b, creds, before), { active: true }, "the old key's token still verifies after the switch");
  });

  t.test("a resource server with createRemoteJWKSet on B verifies tokens of both instances across a rotation", async (t) => {
    const jwks = createRemoteJWKSet(new URL(`${b.url}/.well-known/jwks.json`), { cooldownDuration: 0, cacheMaxAge: 1000 });
    const verify = (token: string) => jwtVerify(token, jwks, { issuer: ISSUER, audience: AUDIENCE, typ: "at+jwt", algorithms: ["RS256"] });
    await verify(await accessToken(a, creds)); // warm the cache with the current key set

    const rotated = await rotate(t);
    const failures: string[] = [];
    const newKidFrom = new Set<string>();
    let verified = 0;
    let i = 0;
    // ~2 s of activation delay plus reloads; stop once both instances have been seen signing with
    // the new key a few times, or after 15 s, whichever comes first.
    const deadline = Date.now() + 15_000;
    const newTokens = { A: 0, B: 0 };
    while (Date.now() < deadline && (newTokens.A < 3 || newTokens.B < 3)) {
      const [name, server] = i++ % 2 === 0 ? (["A", a] as const) : (["B", b] as const);
      const token = await accessToken(server, creds);
      try {
        const { protectedHeader } = await verify(token);
        verified++;
        if (protectedHeader.kid === rotated.kid) {
          newKidFrom.add(name);
          newTokens[name]++;
        }
      } catch (e) {
        failures.push(`${name} kid=${decodeProtectedHeader(token).kid}: ${(e as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    t.same(failures, [], "not a single verification failure");
    t.ok(verified > 10, `${verified} tokens verified`);
    t.same([...newKidFrom].sort(), ["A", "B"], "tokens signed by the new key, from both instances, were verified");
  });
});

t.test("automatic rotation by two running instances makes exactly one new key (KEY_ROTATION_INTERVAL=1m)", async (t) => {
  const { databaseUrl, db, a, b } = await cluster(t, { KEY_ROTATION_INTERVAL: "1m" });
  const [first, ...others] = await storedSigningKeys(databaseUrl);
  t.same(others, [], "one key to begin with");

  // Time passes for the database alone: the newest key now looks two minutes old to both
  // instances, whose pollers (every CACHE_REFRESH = 1 s) will each find a rotation due.
  await db.signingKey.update({ where: { kid: first!.kid }, data: { createdAt: new Date(Date.now() - 120_000) } });

  const rotated = await eventually(async () => ((await storedSigningKeys(databaseUrl)).length > 1 ? true : undefined), 15_000);
  t.ok(rotated, "a rotation happened");
  // Let both pollers run a few more times: a second, racing rotation would show up now.
  await eventually(async () => undefined, 3_000);
  const keys = await storedSigningKeys(databaseUrl);
  t.equal(keys.length, 2, `exactly one new key (generations: ${keys.map((k) => k.generation).join(", ")})`);
  const creates = (await new AuditRepository(db).list(50)).filter((e) => e.action === "key.create");
  t.equal(creates.length, 2, "two key.create events: the first key and the automatic rotation");
  t.same(creates.map((e) => e.actor), ["tessera", "tessera"], "both made by tessera itself");

  const newKid = keys.at(-1)!.kid;
  for (const [name, server] of [["A", a], ["B", b]] as const) {
    const published = await eventually(async () => ((await jwksKids(server)).includes(newKid) ? true : undefined), RELOAD_WAIT_MS);
    t.ok(published, `${name} publishes the automatically made key`);
  }
});
