// The README's DPoP client (the ```js block that starts with "// dpop-client.mjs"), run as a reader
// would run it against a listening tessera, with DPOP_NONCE off and on (openid-client then retries
// once with tessera's nonce): it must print a DPoP token bound to the thumbprint it prints. Only the
// server's address changes.
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createRemoteJWKSet, jwtVerify } from "jose";
import t from "tap";
import { buildTestApp } from "../helpers/app.js";
import { SettableClock } from "../helpers/clock.js";
import { freePort } from "../helpers/server-process.js";

const README = fileURLToPath(new URL("../../README.md", import.meta.url));

function script(): string {
  const block = /```js\n(\/\/ dpop-client\.mjs[\s\S]*?)```/.exec(readFileSync(README, "utf8"));
  if (!block) throw new Error('README.md has no ```js block starting with "// dpop-client.mjs"');
  return block[1]!;
}

for (const nonce of ["off", "on"]) {
  t.test(`the README's dpop-client.mjs gets a DPoP-bound token (DPOP_NONCE=${nonce})`, async (t) => {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const { app, createClient } = await buildTestApp(t, { TESSERA_ISSUER: issuer, DPOP_NONCE: nonce }, new SettableClock(Date.now()));
    await app.listen({ port, host: "127.0.0.1" });
    // The walk-through's client: two audiences, read and write, client_credentials.
    const { clientId, clientSecret } = await createClient({ name: "Acme", audiences: ["https://api.acme.test", "https://b.acme.test"], scopes: ["read", "write"] });

    const source = script();
    t.match(source, "http://127.0.0.1:3000", "the script names the README's server address");
    const dir = await mkdtemp(path.join(os.tmpdir(), "tessera-readme-"));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, "dpop-client.mjs");
    // the temp dir has no node_modules: the installed package, by its resolved URL
    writeFileSync(file, source.replaceAll("http://127.0.0.1:3000", issuer).replace('"openid-client"', JSON.stringify(import.meta.resolve("openid-client"))));

    const { stdout } = await promisify(execFile)(process.execPath, [file, clientId, clientSecret]);
    const printed = /^dpop (\S+)\ncnf\.jkt: (\S+)\n$/.exec(stdout);
    if (!printed) throw new Error(`unexpected output:\n${stdout}`);
    const [, token, jkt] = printed as unknown as [string, string, string];
    const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(token, jwks, { issuer, audience: "https://api.acme.test", typ: "at+jwt" });
    t.same(payload.cnf, { jkt }, "the token is bound to the key the script printed");
    t.equal(payload.scope, "read");
  });
}
