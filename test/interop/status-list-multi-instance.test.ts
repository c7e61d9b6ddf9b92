// Token Status List across instances: two real tessera processes on one database (PostgreSQL as
// deployed; SQLite in WAL mode too), CACHE_REFRESH=1. A token issued by A, revoked through A, shows
// INVALID in B's list within CACHE_REFRESH (bounded polling: 5 s leaves room for a busy machine); a
// client disabled from outside both (as the CLI does) shows INVALID in both lists. Each list is
// checked as a resource server checks it: verified with createRemoteJWKSet against that instance,
// `lst` inflated, bit idx read. Both instances' tokens have distinct entries.
import { randomBytes } from "node:crypto";
import t from "tap";
import { createRemoteJWKSet, decodeJwt, jwtVerify } from "jose";
import { systemClock } from "../../src/domain/clock.js";
import { ClientService } from "../../src/domain/clients/client-service.js";
import { StatusList } from "../../src/domain/tokens/status-list.js";
import { AuditRepository } from "../../src/storage/audit.js";
import { ClientRepository } from "../../src/storage/clients.js";
import { openDb } from "../../src/storage/prisma.js";
import { StatusListRepository } from "../../src/storage/status-lists.js";
import { basic, form } from "../helpers/app.js";
import { freshDatabaseUrl } from "../helpers/database.js";
import { eventually, startServer, type ServerProcess } from "../helpers/server-process.js";
import type { StatusClaim } from "../helpers/status-list.js";

t.setTimeout(300_000);

const ISSUER = "http://tessera.test";
const FORM = { "content-type": "application/x-www-form-urlencoded" };
const CACHE_REFRESH_WAIT_MS = 5_000; // CACHE_REFRESH is 1 s
type Creds = { clientId: string; clientSecret: string };

const databaseUrl = await freshDatabaseUrl(t);
const shared = { DATABASE_URL: databaseUrl, TESSERA_KEK: randomBytes(32).toString("base64"), TESSERA_ISSUER: ISSUER, CACHE_REFRESH: "1", RATE_LIMIT_TOKEN: "0", RATE_LIMIT_REVOKE: "0" };
const a = await startServer(t, shared); // first: applies the migrations, makes the key
const b = await startServer(t, shared);
const db = await openDb(databaseUrl);
t.teardown(() => db.$disconnect());
const clients = new ClientService({ repo: new ClientRepository(db), statusBlocks: new StatusListRepository(db), audit: new AuditRepository(db), clock: systemClock });

async function register(): Promise<Creds> {
  const { client, clientSecret } = await clients.create({ name: "status", grantTypes: ["client_credentials"], scopes: [], audiences: ["https://api.example.test"] }, "test");
  const creds = { clientId: client.id, clientSecret: clientSecret! };
  for (const server of [a, b]) await eventually(async () => ((await tokenFrom(server, creds)).status === 200 ? true : undefined), CACHE_REFRESH_WAIT_MS);
  return creds;
}

const tokenFrom = (server: ServerProcess, creds: Creds) =>
  fetch(`${server.url}/token`, { method: "POST", headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) }, body: form({ grant_type: "client_credentials" }) });

async function accessToken(server: ServerProcess, creds: Creds): Promise<string> {
  const res = await tokenFrom(server, creds);
  if (res.status !== 200) throw new Error(`${server.url}/token answered ${res.status}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

const claimOf = (token: string) => (decodeJwt(token).status as { status_list: StatusClaim }).status_list;

/** The status `server`'s list shows for the token, read as a resource server reads it. */
async function statusAt(server: ServerProcess, token: string): Promise<number> {
  const { idx, uri } = claimOf(token);
  const res = await fetch(`${server.url}${new URL(uri).pathname}`);
  if (res.status !== 200) throw new Error(`${uri} at ${server.url} answered ${res.status}`);
  if (res.headers.get("content-type") !== "application/statuslist+jwt") throw new Error(`${uri} came as ${res.headers.get("content-type")}`);
  const jwks = createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`));
  const { payload } = await jwtVerify(await res.text(), jwks, { typ: "statuslist+jwt", subject: uri, issuer: ISSUER });
  const { bits, lst } = payload.status_list as { bits: 1; lst: string };
  return StatusList.decode(lst, bits).get(idx);
}

const becomes = (server: ServerProcess, token: string, status: number) =>
  eventually(async () => ((await statusAt(server, token)) === status ? true : undefined), CACHE_REFRESH_WAIT_MS);

t.test("a revocation through A shows in B's list within CACHE_REFRESH", async (t) => {
  const creds = await register();
  const token = await accessToken(a, creds);
  const other = await accessToken(b, creds);
  t.not(`${claimOf(token).uri} ${claimOf(token).idx}`, `${claimOf(other).uri} ${claimOf(other).idx}`, "the instances' entries differ");
  t.equal(await statusAt(b, token), 0, "B serves A's list entry as VALID (a list A began is found by B)");
  const revoked = await fetch(`${a.url}/revoke`, { method: "POST", headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) }, body: form({ token }) });
  t.equal(revoked.status, 200);
  t.equal(await statusAt(a, token), 1, "A shows it at once");
  t.equal(await becomes(b, token, 1), true, "B shows it within CACHE_REFRESH");
  t.equal(await statusAt(b, other), 0, "B's own token stays VALID");
});

t.test("a client disabled from outside (the CLI's way) reads INVALID on both instances", async (t) => {
  const creds = await register();
  const fromA = await accessToken(a, creds);
  const fromB = await accessToken(b, creds);
  await clients.disable(creds.clientId, "test");
  for (const server of [a, b]) {
    t.equal(await becomes(server, fromA, 1), true, `${server === a ? "A" : "B"}: A's token`);
    t.equal(await becomes(server, fromB, 1), true, `${server === a ? "A" : "B"}: B's token`);
  }
});
