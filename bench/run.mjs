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
//       BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"  extra node flags for the server
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

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const RESULTS = path.join(ROOT, "bench/results/latest.json");
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? "").split(/\s+/).filter(Boolean);

/** What to load. `expect` checks one response before the load starts. Add scenarios here. */
const scenarios = ({ basic }) => {
  const token = {
    method: "POST",
    path: "/token",
    headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
    body: "grant_type=client_credentials",
    expect: (status, body) => status === 200 && typeof json(body)?.access_token === "string",
  };
  const jwks = { method: "GET", path: "/.well-known/jwks.json", expect: (status, body) => status === 200 && json(body)?.keys?.length > 0 };
  return [
    { name: "token c10", connections: 10, ...token },
    { name: "token c50", connections: 50, ...token },
    { name: "jwks c50", connections: 50, ...jwks },
  ];
};

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

/** Creates the bench client with the real CLI; the secret stays in memory and is never printed. */
function createClient(env) {
  const args = ["dist/cli/index.js", "clients", "create", "--name", "bench", "--audience", "https://api.bench.test",
    "--scope", "read write", "--grant", "client_credentials", "--json"];
  let out;
  try {
    out = execFileSync(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "inherit"] });
  } catch (e) {
    throw new Error(`tessera clients create failed (exit ${e.status})`); // e.stdout is not shown
  }
  const { client_id, client_secret } = JSON.parse(out);
  return Buffer.from(`${encodeURIComponent(client_id)}:${encodeURIComponent(client_secret)}`).toString("base64");
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
    DATABASE_URL: `file:${path.join(state.tmp, "bench.db")}`,
    TESSERA_KEK: randomBytes(32).toString("base64"),
    TESSERA_KEK_FILE: path.join(state.tmp, "kek"),
    LOG_LEVEL: "warn",
    HOST: "127.0.0.1",
    PORT: String(port),
    TESSERA_ISSUER: base,
    // Capacity, not the limiter, is measured: /token's per-client limit is off unless asked for.
    RATE_LIMIT_TOKEN: process.env.RATE_LIMIT_TOKEN ?? "0",
  };
  const basic = createClient(env);
  state.server = spawn(process.execPath, [...NODE_ARGS, "dist/server.js"], { cwd: ROOT, env, stdio: ["ignore", "inherit", "inherit"] });
  await waitReady(base, state.server);

  const list = scenarios({ basic });
  for (const s of list) await check(base, s);
  const startLoad = loadavg();
  const runs = [];
  for (const s of list) {
    await load(base, s, WARMUP);
    const cpu0 = cpuSeconds(state.server.pid);
    const r = await load(base, s, DURATION);
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
  const report = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, durationSeconds: DURATION, loadavg: loads, runs };
  mkdirSync(path.dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify(report, null, 2)}\n`);

  console.log(`tessera bench: ${DURATION} s per scenario, node ${process.version}, ${report.cpus} CPUs`);
  console.log(`load average (1 5 15 min): start ${loads.start}, end ${loads.end}`);
  console.table(Object.fromEntries(runs.map(({ scenario, ...rest }) => [scenario, rest])));
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
