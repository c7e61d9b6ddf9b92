// The README's openid-client script (the ```js block that starts with "// signin.mjs") runs as a
// reader would run it: its printed address opened in Chromium, signed in and allowed, and the script
// exchanges the code and rotates the refresh token. Only the addresses change: tessera's port, and
// the callback's port (any loopback port matches the registered http://127.0.0.1:8080/callback,
// RFC 8252 §7.3, which this also shows).
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";
import { buildTestApp } from "../helpers/app.js";
import { launchBrowser, signInOnPage } from "../helpers/browser.js";
import { SettableClock } from "../helpers/clock.js";
import { freePort } from "../helpers/server-process.js";

const README = fileURLToPath(new URL("../../README.md", import.meta.url));

function signInScript(): string {
  const block = /```js\n(\/\/ signin\.mjs[\s\S]*?)```/.exec(readFileSync(README, "utf8"));
  if (!block) throw new Error('README.md has no ```js block starting with "// signin.mjs"');
  return block[1]!;
}

t.test("the README's signin.mjs signs a user in through Chromium and gets rotating tokens", async (t) => {
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
