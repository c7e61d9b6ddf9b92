// What a user of the package gets: `npm pack` (which builds dist/ through prepack) makes a
// tarball; it installs into a scratch app without network (its dependencies and the fastify peer
// are linked from this repository's node_modules, so npm finds them satisfied); the app, in plain
// JavaScript, guards a route with the plugin against a real tessera; a TypeScript file type-checks
// against the installed declarations.
import t from "tap";
import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { AUDIENCE, startTessera } from "./helpers/tessera.js";

const run = promisify(execFile);
const PACKAGE = fileURLToPath(new URL("..", import.meta.url));
const ROOT = path.resolve(PACKAGE, "../..");

const APP = `
import Fastify from "fastify";
import resourceServer from "@tessera/resource-server";
const app = Fastify();
await app.register(resourceServer, { issuer: process.env.ISSUER, audience: process.env.AUDIENCE });
app.get("/things", { preHandler: app.requireScopes("read") }, async (request) => ({ client: request.accessToken.client_id }));
process.stdout.write((await app.listen({ port: 0, host: "127.0.0.1" })) + "\\n");
`;

const TYPED = `
import Fastify from "fastify";
import resourceServer, { AccessTokenError, createVerifier, type AccessTokenClaims } from "@tessera/resource-server";
const verifier = createVerifier({ issuer: "https://as.example", audience: "https://api.example" });
const claims: Promise<AccessTokenClaims> = verifier.verify("token");
const bound: Promise<AccessTokenClaims> = verifier.verify("token", { dpop: { proof: "proof", method: "GET", url: "https://api.example/things" } });
const code: "invalid_token" | "invalid_dpop_proof" | "invalid_request" | "insufficient_scope" | "temporarily_unavailable" = new AccessTokenError("invalid_token", "x").code;
const app = Fastify();
await app.register(resourceServer, { issuer: "https://as.example", audience: "https://api.example", publicUrl: "https://api.example" });
app.get("/", { preHandler: app.requireScopes("read") }, async (request) => request.accessToken?.scope);
export { bound, claims, code };
`;

t.test("the packed tarball installs offline and guards a route against a real tessera", async (t) => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), "tessera-rs-pack-"));
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", scratch], { cwd: PACKAGE });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  const files = packed!.files.map((f) => f.path).sort();
  t.ok(files.includes("dist/index.js") && files.includes("dist/index.d.ts"), "built JavaScript and declarations");
  t.ok(files.includes("README.md"), "the README");
  t.same(files.filter((f) => !f.startsWith("dist/") && f !== "README.md" && f !== "package.json"), [], "nothing else (no src, tests)");

  const appDir = path.join(scratch, "app");
  mkdirSync(path.join(appDir, "node_modules"), { recursive: true });
  writeFileSync(path.join(appDir, "package.json"), JSON.stringify({ name: "scratch-app", private: true, type: "module" }));
  for (const name of ["jose", "fastify", "fastify-plugin"]) symlinkSync(path.join(ROOT, "node_modules", name), path.join(appDir, "node_modules", name));
  await run("npm", ["install", "--offline", "--no-audit", "--no-fund", path.join(scratch, packed!.filename)], { cwd: appDir });
  const installed = JSON.parse(readFileSync(path.join(appDir, "node_modules/@tessera/resource-server/package.json"), "utf8")) as Record<string, unknown>;
  t.equal(installed.name, "@tessera/resource-server");
  t.same(installed.dependencies, { "fastify-plugin": "^6.0.1", jose: "^6.2.17" });

  writeFileSync(path.join(appDir, "typed.mts"), TYPED);
  const tsc = path.join(ROOT, "node_modules/typescript/bin/tsc");
  const compilerOptions = { noEmit: true, strict: true, skipLibCheck: true, target: "es2023", module: "nodenext", moduleResolution: "nodenext", types: [] };
  writeFileSync(path.join(appDir, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["typed.mts"] }));
  const typed = await run(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: appDir }).then(
    () => "",
    (error: { stdout: string }) => error.stdout,
  );
  t.equal(typed, "", "a TypeScript app type-checks against the installed declarations");

  const tessera = await startTessera(t);
  writeFileSync(path.join(appDir, "server.mjs"), APP);
  const child = spawn(process.execPath, ["server.mjs"], { cwd: appDir, env: { ...process.env, ISSUER: tessera.issuer, AUDIENCE }, stdio: ["ignore", "pipe", "inherit"] });
  t.teardown(() => void child.kill());
  const [base] = (await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next()).value.split("\n") as [string];

  const token = await tessera.token({ scope: "read" });
  const ok = await fetch(`${base}/things`, { headers: { authorization: `Bearer ${token}` } });
  t.equal(ok.status, 200);
  t.same(await ok.json(), { client: JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).client_id });

  const missing = await fetch(`${base}/things`);
  t.equal(missing.status, 401);
  t.equal(missing.headers.get("www-authenticate"), 'Bearer, DPoP algs="ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA Ed25519"');
  const wrong = await fetch(`${base}/things`, { headers: { authorization: `Bearer ${token.slice(0, -4)}AAAA` } });
  t.equal(wrong.status, 401);
  t.equal(wrong.headers.get("www-authenticate"), 'Bearer error="invalid_token", error_description="the token\'s signature is invalid"');
});
