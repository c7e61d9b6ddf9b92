// The README's "Sign a user in with the authorization code flow", run as a reader would run it (it is
// outside the walk-through that npm run readme-check runs, which has no browser):
// - the openid-client script (the ```js block that starts with "// signin.mjs"): its printed address
//   opened in Chromium, signed in and allowed; the script exchanges the code and rotates the refresh
//   token. Only the addresses change: tessera's port, and the callback's port (any loopback port
//   matches the registered http://127.0.0.1:8080/callback, RFC 8252 §7.3, which this also shows);
// - the openssl and curl steps (the section's second and third ```sh blocks) in bash.
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import t, { type Test } from "tap";
import { buildTestApp } from "../helpers/app.js";
import { launchBrowser, signInOnPage } from "../helpers/browser.js";
import { SettableClock } from "../helpers/clock.js";
import { freePort } from "../helpers/server-process.js";

const README = fileURLToPath(new URL("../../README.md", import.meta.url));

const SECTION = "## Sign a user in with the authorization code flow";

/** The README's section, up to the next heading. */
function section(): string {
  const readme = readFileSync(README, "utf8");
  const start = readme.indexOf(SECTION);
  if (start < 0) throw new Error(`README.md has no "${SECTION}"`);
  const end = readme.indexOf("\n## ", start + SECTION.length);
  return readme.slice(start, end < 0 ? undefined : end);
}

function signInScript(): string {
  const block = /```js\n(\/\/ signin\.mjs[\s\S]*?)```/.exec(section());
  if (!block) throw new Error('the README\'s section has no ```js block starting with "// signin.mjs"');
  return block[1]!;
}

const shellBlocks = (): string[] => [...section().matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);

const bash = (script: string) => promisify(execFile)("bash", ["-c", `set -euo pipefail\n${script}`]);

/** tessera on a free loopback port, the README's client (public, http://127.0.0.1:8080/callback) and alice. */
async function startTessera(t: Test) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const { app, createClient } = await buildTestApp(t, { TESSERA_ISSUER: issuer }, new SettableClock(Date.now()));
  await app.listen({ port, host: "127.0.0.1" });
  const { clientId } = await createClient({
    name: "Photo Book",
    public: true,
    grantTypes: ["authorization_code", "refresh_token"],
    redirectUris: ["http://127.0.0.1:8080/callback"],
    audiences: ["https://api.acme.test"],
  });
  await app.services.users.create("alice", "alice-password-1");
  return { issuer, clientId };
}

t.test("the README's signin.mjs signs a user in through Chromium and gets rotating tokens", async (t) => {
  const { issuer, clientId } = await startTessera(t);

  const script = signInScript();
  t.match(script, "http://127.0.0.1:3000", "the script names the README's server address");
  t.match(script, "http://127.0.0.1:8080/callback", "and the registered redirect URI");
  const callbackPort = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), "tessera-readme-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, "signin.mjs");
  writeFileSync(
    file,
    script
      .replaceAll("http://127.0.0.1:3000", issuer)
      .replaceAll("8080", String(callbackPort))
      // the temp dir has no node_modules: the installed package, by its resolved URL
      .replace('"openid-client"', JSON.stringify(import.meta.resolve("openid-client"))),
  );

  const child = spawn(process.execPath, [file, clientId], { stdio: ["ignore", "pipe", "pipe"] });
  t.teardown(() => child.kill());
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const opened = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", () => {
      const match = /Open (\S+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once("exit", () => reject(new Error(`signin.mjs exited before printing an address:\n${output}`)));
  });
  t.ok(opened.startsWith(`${issuer}/authorize?`), "the address is tessera's authorization endpoint");

  const browser = await launchBrowser(t);
  const page = await browser.newPage();
  await page.goto(opened);
  await signInOnPage(page, "alice", "alice-password-1");
  await page.click('button[name="decision"][value="allow"]');
  await page.waitForURL((u) => u.port === String(callbackPort));
  t.equal(await page.textContent("body"), "Signed in: back to the terminal.\n", "the script's page");

  t.equal(await exited, 0, "signin.mjs exits 0", { output });
  t.match(output, "scope: 'read'", "the tokens were printed");
  t.match(output, "refresh_token: '", "with a refresh token");
  t.match(output, "refreshed: true", "which rotated");
});

t.test("the README's openssl and curl steps: a PKCE pair, the address to open, the code exchange", async (t) => {
  const { issuer, clientId } = await startTessera(t);
  const blocks = shellBlocks().map((block) => block.replaceAll("http://127.0.0.1:3000", issuer));
  t.equal(blocks.length, 3, "the section's shell blocks: register the client, PKCE and address, exchange");
  const [, pkce, exchange] = blocks as [string, string, string];

  const { stdout } = await bash(`SPA_ID=${clientId}\n${pkce}\necho "$VERIFIER"`);
  const [address = "", verifier = ""] = stdout.trim().split("\n");
  const url = new URL(address);
  t.equal(url.origin + url.pathname, `${issuer}/authorize`);
  t.equal(url.searchParams.get("code_challenge"), createHash("sha256").update(verifier).digest("base64url"), "openssl's challenge is S256 of the verifier");

  const browser = await launchBrowser(t);
  const page = await browser.newPage();
  await page.goto(address);
  await signInOnPage(page, "alice", "alice-password-1");
  // nothing listens on port 8080: the code is read from the address the browser was sent to
  const callback = page.waitForRequest((request) => request.url().startsWith("http://127.0.0.1:8080/callback?"));
  await page.click('button[name="decision"][value="allow"]', { noWaitAfter: true });
  const code = new URL((await callback).url()).searchParams.get("code");
  t.type(code, "string");

  t.match(exchange, "CODE=…   # from the address bar");
  const answer = await bash(`SPA_ID=${clientId}; VERIFIER=${verifier}\n${exchange.replace("CODE=…", `CODE=${code}`)}`);
  const tokens = JSON.parse(answer.stdout) as Record<string, unknown>;
  t.strictSame(Object.keys(tokens), ["access_token", "token_type", "expires_in", "scope", "refresh_token"], "the README's example answer");
  t.equal(tokens.scope, "read");
  t.equal(tokens.token_type, "Bearer");
});
