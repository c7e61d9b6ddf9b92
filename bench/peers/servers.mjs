// The servers the peer benchmarks start, and how to reach them: tessera as deployed, node-oidc-provider
// (the "peer") and the bare Fastify + jose route (the "ceiling"), each a fresh child process on a free
// loopback port. Shared by run.mjs (requests per second) and instructions.mjs (instructions per request).
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const HERE = fileURLToPath(new URL(".", import.meta.url));
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const AUDIENCE = "https://api.bench.test";
export const SCOPE = "read write";
export const TOKEN_BODY = `grant_type=client_credentials&scope=${encodeURIComponent(SCOPE)}&resource=${encodeURIComponent(AUDIENCE)}`;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const gone = (child) => child.exitCode !== null || child.signalCode !== null;
export const exitReason = (child) => `exited (code ${child.exitCode}, signal ${child.signalCode})`;
const basicOf = (id, secret) => Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64");

const freePort = () =>
  new Promise((resolve, reject) => {
    const srv = net.createServer().once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });

async function waitReady(url, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gone(child)) throw new Error(`server ${exitReason(child)} before it was ready`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {} // not listening yet
    await sleep(100);
  }
  throw new Error(`${url} not ready within ${timeoutMs / 1000} s`);
}

/**
 * The V8 flags `npm start` gives the server (package.json): Prisma's WebAssembly query compiler on V8's
 * baseline tier only, and semi-spaces of at most 8 MiB (Node's documented --max-semi-space-size; V8's
 * default lets them grow to 16 MiB, which Node 20 did at start-up, and --semi-space-growth-factor=1,
 * used before, did not prevent): peak RSS under load ~143 MiB instead of ~159 MiB.
 */
export const SERVER_NODE_FLAGS = ["--liftoff-only", "--max-semi-space-size=8"];

/**
 * Starts `node <args>`, or `<wrap...> node <args>` when wrapped (instructions.mjs runs servers under
 * valgrind, which starts them some twenty times slower: hence the longer wait for readiness).
 */
function startNode(args, options, wrap) {
  const child = wrap ? spawn(wrap[0], [...wrap.slice(1), process.execPath, ...args], options) : spawn(process.execPath, args, options);
  return { child, readyTimeoutMs: wrap ? 180_000 : 30_000 };
}

/** tessera as deployed: fresh SQLite db, client from the real CLI (its secret is never printed). */
async function startTessera(state, { signingAlg, statusList, wrap }) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "tessera-peers-"));
  state.tmps.add(tmp);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    DATABASE_URL: `file:${path.join(tmp, "bench.db")}`,
    TESSERA_KEK: randomBytes(32).toString("base64"),
    TESSERA_KEK_FILE: path.join(tmp, "kek"),
    LOG_LEVEL: "warn",
    HOST: "127.0.0.1",
    PORT: String(port),
    TESSERA_ISSUER: base,
    SIGNING_ALG: signingAlg,
    // The Token Status List claim on /token (STATUS_LIST, default on); the tesseraNoStatus row turns it off.
    STATUS_LIST: statusList ?? process.env.STATUS_LIST ?? "on",
    RATE_LIMIT_TOKEN: process.env.RATE_LIMIT_TOKEN ?? "0",
  };
  const args = ["dist/cli/index.js", "clients", "create", "--name", "bench", "--audience", AUDIENCE,
    "--scope", SCOPE, "--grant", "client_credentials", "--json"];
  let out;
  const cli0 = Date.now();
  try {
    // The CLI creates no database; migrate (like serve) does.
    execFileSync(process.execPath, ["dist/cli/index.js", "migrate"], { cwd: ROOT, env, stdio: ["ignore", "ignore", "inherit"], timeout: 60_000 });
    out = execFileSync(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "inherit"], timeout: 60_000 });
  } catch (e) {
    throw new Error(`tessera clients create failed (exit ${e.status})`); // e.stdout is not shown
  }
  const { client_id, client_secret } = JSON.parse(out);
  const spawn0 = Date.now();
  const { child, readyTimeoutMs } = startNode([...SERVER_NODE_FLAGS, "dist/server.js"], { cwd: ROOT, env, stdio: ["ignore", "inherit", "inherit"] }, wrap);
  state.children.add(child);
  await waitReady(`${base}/readyz`, child, readyTimeoutMs);
  return { child, base, basic: basicOf(client_id, client_secret), tmp, cliSeconds: (spawn0 - cli0) / 1000 };
}

/** The peer or the ceiling: one of this folder's servers, with a random client secret. */
async function startLocal(state, file, readyPath, { extraEnv = {}, wrap } = {}) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const clientId = "bench";
  const clientSecret = randomBytes(32).toString("base64url");
  const env = { ...process.env, PORT: String(port), BENCH_CLIENT_ID: clientId, BENCH_CLIENT_SECRET: clientSecret, BENCH_AUDIENCE: AUDIENCE, BENCH_SCOPE: SCOPE, ...extraEnv };
  const { child, readyTimeoutMs } = startNode([path.join(HERE, file)], { cwd: HERE, env, stdio: ["ignore", "inherit", "pipe"] }, wrap);
  // oidc-provider warns on start (Node 20 is below its supported runtime; in-memory adapter): say it once.
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => {
    for (const line of chunk.split("\n").filter(Boolean)) {
      if (!state.seenWarnings.has(line)) {
        state.seenWarnings.add(line);
        process.stderr.write(`[${file}] ${line}\n`);
      }
    }
  });
  state.children.add(child);
  await waitReady(base + readyPath, child, readyTimeoutMs);
  return { child, base, basic: basicOf(clientId, clientSecret) };
}

/** Every server; `start(state, { wrap })` runs one and resolves when it answers. */
export const SERVERS = [
  { key: "tessera", label: "tessera", alg: "RS256", jwksPath: "/.well-known/jwks.json",
    start: (state, o) => startTessera(state, { signingAlg: "RS256", ...o }) },
  { key: "peer", label: "oidc-provider", alg: "RS256", jwksPath: "/jwks",
    start: (state, o) => startLocal(state, "oidc-provider-server.mjs", "/.well-known/openid-configuration", o) },
  { key: "ceiling", label: "ceiling", alg: "RS256", jwksPath: "/.well-known/jwks.json",
    start: (state, o) => startLocal(state, "ceiling-server.mjs", "/.well-known/jwks.json", o) },
  // The price of the status claim (an entry from memory per token, a block reservation per 1024).
  { key: "tesseraNoStatus", label: "tessera STATUS_LIST=off", alg: "RS256", jwksPath: "/.well-known/jwks.json", only: ["token c10", "token c50"],
    start: (state, o) => startTessera(state, { signingAlg: "RS256", statusList: "off", ...o }) },
  { key: "tesseraEs256", label: "tessera ES256", alg: "ES256", jwksPath: "/.well-known/jwks.json", only: ["token c50"],
    start: (state, o) => startTessera(state, { signingAlg: "ES256", ...o }) },
  // What the bare stack itself gains from ES256 keys: the yardstick for tessera's ES256/RS256 ratio.
  { key: "ceilingEs256", label: "ceiling ES256", alg: "ES256", jwksPath: "/.well-known/jwks.json", only: ["token c50"],
    start: (state, o) => startLocal(state, "ceiling-server.mjs", "/.well-known/jwks.json", { ...o, extraEnv: { BENCH_ALG: "ES256" } }) },
];

/** The request of a scenario kind ("token" or "jwks") for a running server. */
export function request(server, running, kind) {
  if (kind === "jwks") return { method: "GET", path: server.jwksPath, headers: {} };
  return {
    method: "POST",
    path: "/token",
    headers: { authorization: `Basic ${running.basic}`, "content-type": "application/x-www-form-urlencoded" },
    body: TOKEN_BODY,
  };
}

export async function stopChild(child) {
  if (!child || gone(child)) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  if ((await Promise.race([exited, sleep(5000).then(() => "timeout")])) === "timeout") {
    child.kill("SIGKILL");
    await Promise.race([exited, sleep(2000)]);
  }
}

/** Stops every running child and removes every temp dir. Safe to call twice. */
export async function cleanup(state) {
  const children = [...state.children];
  state.children.clear();
  await Promise.all(children.map(stopChild));
  for (const tmp of state.tmps) rmSync(tmp, { recursive: true, force: true });
  state.tmps.clear();
}
