// Resource-server bench: a Fastify route guarded by @tessera/resource-server vs the same route
// doing jose.jwtVerify alone, in the same run, against tokens from a real tessera (dist/server.js
// on a throwaway SQLite database). Each resource server runs in its own process; autocannon loads
// them in the order plugin, jose, jose, plugin (so that drift in the machine's load hits both
// alike) and the ratio of mean req/s is reported (target ≥ 0.9).
//
// Run:  npm run bench:rs            (builds tessera and the package first)
// Env:  BENCH_DURATION=5  seconds per measured run   BENCH_CONNECTIONS=50
import autocannon from "autocannon";
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const HERE = fileURLToPath(new URL(".", import.meta.url));
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const AUDIENCE = "https://api.bench.test";

const freePort = () =>
  new Promise((resolve, reject) => {
    const srv = net.createServer().once("error", reject);
    srv.listen(0, "127.0.0.1", () => srv.close(resolve.bind(null, srv.address().port)));
  });

const firstLine = async (child) => (await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next()).value;

async function waitReady(base) {
  for (let i = 0; i < 200; i++) {
    if ((await fetch(`${base}/readyz`).catch(() => null))?.status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("tessera not ready within 20 s");
}

const children = [];
const tmp = mkdtempSync(path.join(os.tmpdir(), "tessera-bench-rs-"));
try {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    DATABASE_URL: `file:${path.join(tmp, "bench.db")}`,
    TESSERA_KEK: randomBytes(32).toString("base64"),
    TESSERA_KEK_FILE: path.join(tmp, "kek"),
    LOG_LEVEL: "warn",
    HOST: "127.0.0.1",
    PORT: String(port),
    TESSERA_ISSUER: issuer,
    RATE_LIMIT_TOKEN: "0",
  };
  const cli = (...args) => execFileSync(process.execPath, ["dist/cli/index.js", ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "inherit"] });
  cli("migrate");
  const { client_id, client_secret } = JSON.parse(cli("clients", "create", "--name", "bench-rs", "--grant", "client_credentials", "--audience", AUDIENCE, "--scope", "read", "--json"));
  const tessera = spawn(process.execPath, ["dist/server.js"], { cwd: ROOT, env, stdio: ["ignore", "inherit", "inherit"] });
  children.push(tessera);
  await waitReady(issuer);
  const res = await fetch(`${issuer}/token`, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(client_id)}:${encodeURIComponent(client_secret)}`).toString("base64")}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: "grant_type=client_credentials&scope=read",
  });
  const { access_token: token } = await res.json();
  const claims = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());

  const servers = {};
  for (const mode of ["plugin", "jose"]) {
    const child = spawn(process.execPath, [path.join(HERE, "server.mjs"), mode, issuer, AUDIENCE], { stdio: ["ignore", "pipe", "inherit"] });
    children.push(child);
    servers[mode] = await firstLine(child);
    const check = await fetch(`${servers[mode]}/things`, { headers: { authorization: `Bearer ${token}` } });
    if (check.status !== 200) throw new Error(`${mode}: first request answered ${check.status}`);
  }

  const load = (mode, duration) =>
    autocannon({ url: `${servers[mode]}/things`, headers: { authorization: `Bearer ${token}` }, connections: CONNECTIONS, pipelining: 1, duration });
  await load("plugin", 2); // warm-up
  await load("jose", 2);
  const results = { plugin: [], jose: [] };
  for (const mode of ["plugin", "jose", "jose", "plugin"]) {
    const r = await load(mode, DURATION);
    if (r.errors || r.non2xx) throw new Error(`${mode}: ${r.errors} errors, ${r.non2xx} non-2xx`);
    results[mode].push(r);
  }
  const mean = (rs) => rs.reduce((sum, r) => sum + r.requests.average, 0) / rs.length;
  const p99 = (rs) => Math.max(...rs.map((r) => r.latency.p99));
  const plugin = mean(results.plugin);
  const jose = mean(results.jose);
  console.log(`resource-server bench: c${CONNECTIONS}, ${DURATION} s × 2 runs each, token ${claims.status ? "with" : "without"} a status claim, load ${os.loadavg().map((n) => n.toFixed(2)).join(" ")}`);
  const runs = (rs) => rs.map((r) => r.requests.average.toFixed(0)).join(", ");
  console.log(`  plugin (discovery, JWKS, at+jwt, iss, aud, exp, status list, scope)  ${plugin.toFixed(0)} req/s (runs ${runs(results.plugin)})  p99 ${p99(results.plugin)} ms`);
  console.log(`  jose.jwtVerify alone                                             ${jose.toFixed(0)} req/s (runs ${runs(results.jose)})  p99 ${p99(results.jose)} ms`);
  console.log(`  ratio plugin / jose: ${(plugin / jose).toFixed(2)} (target ≥ 0.90)`);
} finally {
  for (const child of children) child.kill();
  rmSync(tmp, { recursive: true, force: true });
}
