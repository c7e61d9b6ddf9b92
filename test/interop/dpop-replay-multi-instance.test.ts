// A DPoP proof is used once across instances (RFC 9449 §11.1): two real tessera processes on one
// PostgreSQL database. A proof A accepted is refused by B; the same proof sent to both at once is
// accepted by exactly one. The nonce of one instance works at the other (DPOP_NONCE=on, same KEK).
import { randomBytes } from "node:crypto";
import t from "tap";
import { decodeJwt } from "jose";
import { systemClock } from "../../src/domain/clock.js";
import { ClientService } from "../../src/domain/clients/client-service.js";
import { AuditRepository } from "../../src/storage/audit.js";
import { ClientRepository } from "../../src/storage/clients.js";
import { openDb } from "../../src/storage/prisma.js";
import { StatusListRepository } from "../../src/storage/status-lists.js";
import { basic, form } from "../helpers/app.js";
import { freshDatabaseUrl, TEST_PROVIDER } from "../helpers/database.js";
import { dpopKey, dpopProof } from "../helpers/dpop.js";
import { eventually, startServer, type ServerProcess } from "../helpers/server-process.js";

t.setTimeout(300_000);

if (TEST_PROVIDER !== "postgresql") {
  // Several instances share a database only on PostgreSQL (SQLite serves one host); the replay row is
  // the same single INSERT on both, tested on SQLite in test/domain/tokens/dpop-proofs.test.ts.
  t.comment("DPoP replay across processes is PostgreSQL only: it runs in the PostgreSQL pass of the suite");
} else {
  const ISSUER = "http://tessera.test";
  const HTU = `${ISSUER}/token`;
  const FORM = { "content-type": "application/x-www-form-urlencoded" };
  const databaseUrl = await freshDatabaseUrl(t);
  const shared = { DATABASE_URL: databaseUrl, TESSERA_KEK: randomBytes(32).toString("base64"), TESSERA_ISSUER: ISSUER, CACHE_REFRESH: "1", RATE_LIMIT_TOKEN: "0", DPOP_NONCE: "on" };
  const a = await startServer(t, shared); // first: applies the migrations, makes the key
  const b = await startServer(t, shared);
  const db = await openDb(databaseUrl);
  t.teardown(() => db.$disconnect());
  const clients = new ClientService({ repo: new ClientRepository(db), statusBlocks: new StatusListRepository(db), audit: new AuditRepository(db), clock: systemClock });
  const { client, clientSecret } = await clients.create({ name: "dpop", grantTypes: ["client_credentials"], scopes: [], audiences: ["https://api.example.test"] }, "test");
  const key = await dpopKey("ES256");

  const tokenAt = (server: ServerProcess, dpop?: string) =>
    fetch(`${server.url}/token`, {
      method: "POST",
      headers: { ...FORM, authorization: basic(client.id, clientSecret!), ...(dpop !== undefined && { dpop }) },
      body: form({ grant_type: "client_credentials" }),
    });
  // Until both registries have the client (CACHE_REFRESH) the answer is invalid_client.
  for (const server of [a, b]) await eventually(async () => ((await tokenAt(server)).status === 200 ? true : undefined), 5_000);
  const nonceOf = async (server: ServerProcess) => (await tokenAt(server)).headers.get("dpop-nonce")!;
  const proof = async (nonce: string) => dpopProof(key, { nowSeconds: Math.floor(Date.now() / 1000), htu: HTU, nonce });

  t.test("a proof accepted by A is refused by B, with a nonce A gave", async (t) => {
    const header = await proof(await nonceOf(a));
    const atA = await tokenAt(a, header);
    t.equal(atA.status, 200);
    const body = (await atA.json()) as { access_token: string; token_type: string };
    t.equal(body.token_type, "DPoP");
    t.same(decodeJwt(body.access_token).cnf, { jkt: key.jkt });
    const atB = await tokenAt(b, header);
    t.equal(atB.status, 400);
    t.same(await atB.json(), { error: "invalid_dpop_proof", error_description: "DPoP proof was used before" });
  });

  t.test("a nonce from B works at A (the same KEK)", async (t) => {
    t.equal((await tokenAt(a, await proof(await nonceOf(b)))).status, 200);
  });

  t.test("the same proof at A and B at once: exactly one accepts it", async (t) => {
    const nonce = await nonceOf(a);
    for (let round = 0; round < 10; round++) {
      const header = await proof(nonce);
      const statuses = (await Promise.all([tokenAt(a, header), tokenAt(b, header)])).map((res) => res.status).sort();
      t.same(statuses, [200, 400], `round ${round}`);
    }
  });
}
