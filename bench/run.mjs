// tessera load benchmark.
//
// Measures the built server (dist/) as deployed: a real `node dist/server.js` child process on a
// fresh SQLite database in a temp dir, a client made with the real CLI, and autocannon load over
// loopback. For each scenario: mean req/s, p50/p99 latency, errors + non-2xx (must be 0), server
// CPU time per request (all threads) and the server's peak RSS so far (VmHWM). Results: a table
// on stdout and bench/results/latest.json.
//
// Run:  npm run bench                  (builds first; or `node bench/run.mjs` after a build)
// Env:  BENCH_DURATION=10  seconds per scenario    BENCH_WARMUP=2  seconds of warm-up before each
//       BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres  run on a throwaway PostgreSQL
//       database created on that server (and dropped after) instead of SQLite
//       BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"  extra node flags for the server
//       BENCH_SCENARIOS=token,jwks  only the scenarios whose names start with one of these words
//       Server settings pass through (e.g. METRICS=off); RATE_LIMIT_TOKEN defaults to 0 (off) here.
// The load generator shares the machine with the server: compare figures taken at similar load
// averages (printed with the results), never across machines.
import autocannon from "autocannon";
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SERVER_NODE_FLAGS } from "./peers/servers.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const RESULTS = path.join(ROOT, `bench/results/latest${process.env.BENCH_DATABASE_URL ? "-postgresql" : ""}.json`);
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? "").split(/\s+/).filter(Boolean);
const ONLY = process.env.BENCH_SCENARIOS?.split(",").map((s) => s.trim()).filter(Boolean);

/** What to load. `expect` checks one response before the load starts. Add scenarios here. */
const scenarios = ({ basic, accessToken }) => {
  const token = {
    method: "POST",
    path: "/token",
    headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
    body: "grant_type=client_credentials",
    expect: (status, body) => status === 200 && typeof json(body)?.access_token === "string",
  };
  const jwks = { method: "GET", path: "/.well-known/jwks.json", expect: (status, body) => status === 200 && json(body)?.keys?.length > 0 };
  // The Token Status List the token names (STATUS_LIST=on, the default): what resource servers fetch.
  const uri = JSON.parse(Buffer.from(accessToken.split(".")[1], "base64url").toString()).status?.status_list?.uri;
  const statusList = uri && { method: "GET", path: new URL(uri).pathname, expect: (status, body) => status === 200 && body.split(".").length === 3 };
  const statusListGzip = statusList && { ...statusList, headers: { "accept-encoding": "gzip" }, expect: (status) => status === 200 };
  const introspect = {
    method: "POST",
    path: "/introspect",
    headers: token.headers,
    body: `token=${accessToken}`,
    expect: (status, body) => status === 200 && json(body)?.active === true,
  };
  return [
    { name: "token c10", connections: 10, ...token },
    { name: "token c50", connections: 50, ...token },
    { name: "jwks c50", connections: 50, ...jwks },
    ...(statusList ? [{ name: "statuslist c50", connections: 50, ...statusList }, { name: "statuslist gzip c50", connections: 50, ...statusListGzip }] : []),
    { name: "introspect c50", connections: 50, ...introspect },
  ];
};

const ROTATION_WORKERS = 20;

/**
 * Refresh-token rotations: before each run, ROTATION_WORKERS chains are signed in (password grant,
 * outside the measured time); autocannon then rotates them over and over (grant_type=refresh_token),
 * one request in flight per connection. A request takes an idle chain's token, and its answer hands
 * the chain's next token back; a failed rotation breaks its chain, so every later use of it fails too
 * and the run counts non-2xx answers. (autocannon resets a connection's context after every request,
 * so the chains live here; and a run's end drops answers in flight, so each run starts new chains.)
 * Returns a runner (duration) => autocannon's result.
 */
function rotations(base, webBasic) {
  const headers = { authorization: `Basic ${webBasic}`, "content-type": "application/x-www-form-urlencoded" };
  return async (duration) => {
    const idle = await Promise.all(Array.from({ length: ROTATION_WORKERS }, async () => {
      const res = await fetch(`${base}/token`, { method: "POST", headers, body: `grant_type=password&username=bench&password=${encodeURIComponent(BENCH_PASSWORD)}` });
      return { token: (await res.json()).refresh_token };
    }));
    const request = {
      method: "POST",
      path: "/token",
      headers,
      setupRequest: (req, context) => {
        context.chain = idle.pop();
        return { ...req, body: `grant_type=refresh_token&refresh_token=${context.chain?.token ?? "none"}` };
      },
      onResponse: (status, body, context) => {
        if (!context.chain) return;
        context.chain.token = status === 200 ? json(body)?.refresh_token : "broken";
        idle.push(context.chain);
      },
    };
    return autocannon({ url: base, connections: ROTATION_WORKERS, pipelining: 1, duration, requests: [request] });
  };
}

const BENCH_PASSWORD = randomBytes(12).toString("base64url");

const json = (text) => { try { return JSON.parse(text); } catch {} }; // undefined when not JSON
const loadavg = () => os.loadavg().map((n) => n.toFixed(2)).join(" ");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const gone = (child) => child.exitCode !== null || child.signalCode !== null;
// Code 0 when we did not stop it: its SIGTERM/SIGINT handler ran, so something else signalled it.
const exitReason = (child) => `exited (code ${child.exitCode}, signal ${child.signalCode})`;

const freePort = () =>
  new Promise((resolve, reject) => {
    const srv = net.createServer().once("error", reject);
    srv.listen(0, "127.0.0.1", () => srv.close(resolve.bind(null, srv.address().port)));
  });

/** CPU seconds the process has used (all threads: user + system), from /proc/<pid>/stat. */
const cpuSeconds = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" "); // after "pid (comm) "
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in ticks of 1/100 s
};

const peakRssMiB = (pid) => Math.round(Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024);

/** Runs the real CLI; its output (which may hold a secret) is returned, never printed. */
function cli(env, args, input) {
  try {
    return execFileSync(process.execPath, ["dist/cli/index.js", ...args], { cwd: ROOT, env, input, stdio: ["pipe", "pipe", "inherit"] });
  } catch (e) {
    throw new Error(`tessera ${args.slice(0, 2).join(" ")} failed (exit ${e.status})`); // e.stdout is not shown
  }
}

/** Creates a client with the real CLI and returns its Basic credentials; the secret is never printed. */
function createClient(env, ...flags) {
  const out = cli(env, ["clients", "create", "--audience", "https://api.bench.test", "--scope", "read write", "--json", ...flags]);
  const { client_id, client_secret } = JSON.parse(out);
  return Buffer.from(`${encodeURIComponent(client_id)}:${encodeURIComponent(client_secret)}`).toString("base64");
}

/** A throwaway PostgreSQL database on BENCH_DATABASE_URL's server; dropped in cleanup. */
async function postgresDatabase(state, serverUrl) {
  const { default: pg } = await import("pg");
  const name = `tessera_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  state.dropDatabase = async () => {
    const drop = new pg.Client({ connectionString: serverUrl });
    await drop.connect();
    await drop.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await drop.end();
  };
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function waitReady(base, server) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (gone(server)) throw new Error(`server ${exitReason(server)} before it was ready`);
    if ((await fetch(`${base}/readyz`).catch(() => null))?.status === 200) return; // null: not listening yet
    await sleep(100);
  }
  throw new Error("server not ready within 20 s");
}

async function check(base, s) {
  const res = await fetch(base + s.path, { method: s.method, headers: s.headers, body: s.body });
  if (!s.expect(res.status, await res.text())) throw new Error(`${s.name}: first response was ${res.status}, not what the scenario expects`);
}

const load = (base, { path: p, method, headers, body, connections }, duration) =>
  autocannon({ url: base + p, method, headers, body, connections, pipelining: 1, duration });

async function main(state) {
  state.tmp = mkdtempSync(path.join(os.tmpdir(), "tessera-bench-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    DATABASE_URL: process.env.BENCH_DATABASE_URL
      ? await postgresDatabase(state, process.env.BENCH_DATABASE_URL)
      : `file:${path.join(state.tmp, "bench.db")}`,
    TESSERA_KEK: randomBytes(32).toString("base64"),
    TESSERA_KEK_FILE: path.join(state.tmp, "kek"),
    LOG_LEVEL: "warn",
    HOST: "127.0.0.1",
    PORT: String(port),
    TESSERA_ISSUER: base,
    // Capacity, not the limiter, is measured: /token's per-client limit is off unless asked for.
    RATE_LIMIT_TOKEN: process.env.RATE_LIMIT_TOKEN ?? "0",
    RATE_LIMIT_INTROSPECT: process.env.RATE_LIMIT_INTROSPECT ?? "0",
  };
  cli(env, ["migrate"]); // the CLI creates no database; migrate (like serve) does
  const basic = createClient(env, "--name", "bench", "--grant", "client_credentials");
  const webBasic = createClient(env, "--name", "bench-web", "--first-party", "--grant", "password", "--grant", "refresh_token");
  cli(env, ["users", "create", "--username", "bench", "--password-stdin"], BENCH_PASSWORD);
  state.server = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...NODE_ARGS, "dist/server.js"], { cwd: ROOT, env, stdio: ["ignore", "inherit", "inherit"] });
  await waitReady(base, state.server);

  const first = await fetch(`${base}/token`, { method: "POST", headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" }, body: "grant_type=client_credentials" });
  const accessToken = (await first.json()).access_token;
  const list = scenarios({ basic, accessToken });
  for (const s of list) await check(base, s);
  list.push({ name: `refresh rotations c${ROTATION_WORKERS}`, connections: ROTATION_WORKERS, run: rotations(base, webBasic) });
  const startLoad = loadavg();
  const runs = [];
  for (const s of list.filter((s) => !ONLY || ONLY.some((word) => s.name.startsWith(word)))) {
    const run = s.run ?? ((duration) => load(base, s, duration));
    await run(WARMUP);
    const cpu0 = cpuSeconds(state.server.pid);
    const r = await run(DURATION);
    const cpu = cpuSeconds(state.server.pid) - cpu0;
    if (gone(state.server)) throw new Error(`server ${exitReason(state.server)} during ${s.name}`);
    runs.push({
      scenario: s.name, connections: s.connections, reqPerSec: Math.round(r.requests.mean),
      p50Ms: r.latency.p50, p99Ms: r.latency.p99, errors: r.errors, non2xx: r.non2xx,
      // Server CPU per request: less sensitive to other load on the machine than req/s.
      cpuMsPerReq: Number(((1000 * cpu) / r.requests.total).toFixed(3)),
      peakRssMiB: peakRssMiB(state.server.pid), load1: Number(os.loadavg()[0].toFixed(2)),
    });
  }

  const loads = { start: startLoad, end: loadavg() };
  const database = process.env.BENCH_DATABASE_URL ? "postgresql" : "sqlite";
  const report = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, database, durationSeconds: DURATION, loadavg: loads, runs };
  mkdirSync(path.dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify(report, null, 2)}\n`);

  console.log(`tessera bench on ${database}: ${DURATION} s per scenario, node ${process.version}, ${report.cpus} CPUs`);
  console.log(`load average (1 5 15 min): start ${loads.start}, end ${loads.end}`);
  console.table(Object.fromEntries(runs.map(({ scenario, ...rest }) => [scenario, rest])));
  const reqPerSec = (name) => runs.find((r) => r.scenario === name)?.reqPerSec;
  for (const name of ["statuslist c50", "statuslist gzip c50"]) {
    if (reqPerSec(name) && reqPerSec("jwks c50")) console.log(`${name} / jwks c50 (same run): ${(reqPerSec(name) / reqPerSec("jwks c50")).toFixed(2)}x`);
  }
  console.log(`written to ${path.relative(ROOT, RESULTS)}`);
  const failed = runs.filter((r) => r.errors + r.non2xx > 0);
  for (const r of failed) console.log(`FAIL ${r.scenario}: ${r.errors} errors, ${r.non2xx} non-2xx responses`);
  return failed.length ? 1 : 0;
}

/** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes the temp dir. Safe to call twice. */
async function cleanup(state) {
  const server = state.server;
  state.server = null;
  if (server && !gone(server)) {
    const exited = new Promise((r) => server.once("exit", r));
    server.kill("SIGTERM");
    if ((await Promise.race([exited, sleep(5000).then(() => "timeout")])) === "timeout") server.kill("SIGKILL");
  }
  if (state.tmp) rmSync(state.tmp, { recursive: true, force: true });
  state.tmp = null;
  const drop = state.dropDatabase;
  state.dropDatabase = null;
  if (drop) await drop().catch((e) => console.error(`could not drop the bench database: ${e.message}`));
}

const state = { server: null, tmp: null, interrupted: false };
process.once("SIGINT", () => {
  state.interrupted = true;
  console.error("interrupted; cleaning up");
  cleanup(state).finally(() => process.exit(130));
});
let code = 1;
try {
  code = await main(state);
} catch (e) {
  if (!state.interrupted) console.error(`FAIL ${e.message}`);
} finally {
  await cleanup(state);
}
process.exit(code);
