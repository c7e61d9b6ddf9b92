// tessera load benchmark.
//
// Measures the built server (dist/) as deployed: a real `node dist/server.js` child process on a
// fresh SQLite database in a temp dir, a client made with the real CLI, and autocannon load over
// loopback. For each scenario: mean req/s, p50/p99 latency, errors + non-2xx (must be 0), server
// CPU time per request (all threads), the load generator's own (this process: on 2 cores it competes
// with the server, and a code flow costs it two requests) and the server's peak RSS so far (VmHWM).
// Results: a table on stdout and bench/results/latest.json.
//
// Run:  npm run bench                  (builds first; or `node bench/run.mjs` after a build)
// Env:  BENCH_DURATION=10  seconds per scenario    BENCH_WARMUP=2  seconds of warm-up before each
//       BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres  run on a throwaway PostgreSQL
//       database created on that server (and dropped after) instead of SQLite
//       BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"  extra node flags for the server
//       BENCH_SCENARIOS=token,jwks  only the scenarios whose names start with one of these words
//       Server settings pass through (e.g. METRICS=off); RATE_LIMIT_TOKEN defaults to 0 (off) here.
// The code-flow scenario counts complete flows (GET /authorize with a session cookie, then the code
// exchange), and its rate is printed as a ratio of the refresh-rotation rate (target >= 0.8).
// The load generator shares the machine with the server: compare figures taken at similar load
// averages (printed with the results), never across machines.
import autocannon from "autocannon";
import { execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
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

const FLOW_WORKERS = 20;
/** The code flow's client (public, third-party) redirects here; nothing listens, nothing follows. */
const BENCH_REDIRECT_URI = "http://127.0.0.1:9/callback";

/** A new PKCE pair (RFC 7636 S256). */
const pkce = () => {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
};

const authorizePath = (clientId) => {
  const { verifier, challenge } = pkce();
  const query = new URLSearchParams({
    response_type: "code", client_id: clientId, redirect_uri: BENCH_REDIRECT_URI, scope: "read", state: randomBytes(8).toString("base64url"),
    code_challenge: challenge, code_challenge_method: "S256",
  });
  return { path: `/authorize?${query}`, verifier };
};

/**
 * Complete authorization code flows: with a signed-in browser session (its cookie) and remembered
 * consent, each flow is `GET /authorize` (302 to the redirect URI with a code) then the code exchange
 * at /token with the PKCE verifier (a public client: client_id, no secret). FLOW_WORKERS connections,
 * one request in flight each. The result counts complete flows (a 200 with an access token), not
 * requests: requests.mean is flows per second (cpuMsPerReq is per flow), and non2xx the flows that
 * failed at either step.
 */
function codeFlows(base, { clientId, cookie }) {
  return async (duration) => {
    let flows = 0;
    let failures = 0;
    const authorize = {
      method: "GET",
      headers: { cookie },
      setupRequest: (req, context) => {
        const { path: p, verifier } = authorizePath(clientId);
        context.verifier = verifier;
        return { ...req, path: p };
      },
      onResponse: (status, _body, context, headers) => {
        const location = status === 302 ? headers.location : undefined;
        context.code = location ? new URL(location).searchParams.get("code") : null;
      },
    };
    const exchange = {
      method: "POST",
      path: "/token",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      setupRequest: (req, context) => {
        if (!context.code) {
          failures++;
          return null; // back to /authorize
        }
        const body = new URLSearchParams({ grant_type: "authorization_code", code: context.code, code_verifier: context.verifier, redirect_uri: BENCH_REDIRECT_URI, client_id: clientId });
        return { ...req, body: body.toString() };
      },
      onResponse: (status, body) => {
        if (status === 200 && typeof json(body)?.access_token === "string") flows++;
        else failures++;
      },
    };
    const r = await autocannon({ url: base, connections: FLOW_WORKERS, pipelining: 1, duration, requests: [authorize, exchange] });
    // autocannon counts the 302s as non-2xx; what matters is whether each flow completed.
    return { ...r, requests: { ...r.requests, mean: flows / r.duration, total: flows }, non2xx: failures };
  };
}

const decodeHtml = (text) =>
  text.replace(/&(?:#x([0-9a-f]+)|#(\d+)|(amp|lt|gt|quot|apos));/gi, (_m, hex, dec, name) =>
    hex ? String.fromCodePoint(parseInt(hex, 16)) : dec ? String.fromCodePoint(Number(dec)) : { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }[name.toLowerCase()]);
const attributes = (tag) => Object.fromEntries([...tag.matchAll(/\b([a-z-]+)="([^"]*)"/gi)].map(([, k, v]) => [k.toLowerCase(), decodeHtml(v)]));

/**
 * What a person does once in a browser, done with fetch: GET /authorize, fill tessera's sign-in form
 * (its hidden fields, such as the CSRF token, kept), then allow on the consent page, following
 * redirects and keeping cookies, until tessera redirects to the client with a code. Returns the
 * Cookie header that now carries the browser session (consent is remembered server-side).
 */
async function signInAndConsent(base, clientId) {
  const jar = new Map();
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  let request = { url: base + authorizePath(clientId).path };
  for (let step = 0; step < 10; step++) {
    const res = await fetch(request.url, {
      method: request.body ? "POST" : "GET",
      headers: { cookie: cookie(), ...(request.body && { "content-type": "application/x-www-form-urlencoded" }) },
      body: request.body,
      redirect: "manual",
    });
    for (const header of res.headers.getSetCookie()) {
      const pair = header.split(";")[0];
      jar.set(pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1));
    }
    const location = res.headers.get("location");
    if (location?.startsWith(BENCH_REDIRECT_URI)) {
      if (!new URL(location).searchParams.get("code")) throw new Error(`sign-in for the code flow ended without a code: ${location}`);
      return cookie();
    }
    if (location) {
      request = { url: new URL(location, request.url).href };
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`sign-in for the code flow: ${res.status} at ${request.url}`);
    const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map(([, tag, inner]) => ({
      action: attributes(tag).action ?? "",
      inputs: [...inner.matchAll(/<input\b[^>]*>/gi)].map(([t]) => attributes(t)),
      buttons: [...inner.matchAll(/<button\b[^>]*>/gi)].map(([t]) => attributes(t)),
    }));
    const signIn = forms.find((f) => f.inputs.some((i) => i.name === "password"));
    const consent = forms.find((f) => f.buttons.some((b) => b.name === "decision" && b.value === "allow"));
    const form = signIn ?? consent;
    if (!form) throw new Error(`sign-in for the code flow: no sign-in or consent form at ${request.url}`);
    const fields = new URLSearchParams(form.inputs.filter((i) => i.type === "hidden" && i.name).map((i) => [i.name, i.value ?? ""]));
    if (signIn) {
      fields.set("username", "bench");
      fields.set("password", BENCH_PASSWORD);
    } else fields.set("decision", "allow");
    request = { url: new URL(form.action || request.url, request.url).href, body: fields.toString() };
  }
  throw new Error("sign-in for the code flow: more than 10 steps");
}

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

/** Creates a public client (no secret) with the real CLI and returns its client_id. */
function createPublicClient(env, ...flags) {
  const out = cli(env, ["clients", "create", "--audience", "https://api.bench.test", "--scope", "read write", "--json", "--public", ...flags]);
  return JSON.parse(out).client_id;
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
  // Only authorization_code: the exchange then writes and signs once, as a refresh rotation does.
  const spaClientId = createPublicClient(env, "--name", "bench-spa", "--grant", "authorization_code", "--redirect-uri", BENCH_REDIRECT_URI);
  cli(env, ["users", "create", "--username", "bench", "--password-stdin"], BENCH_PASSWORD);
  state.server = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...NODE_ARGS, "dist/server.js"], { cwd: ROOT, env, stdio: ["ignore", "inherit", "inherit"] });
  await waitReady(base, state.server);

  const first = await fetch(`${base}/token`, { method: "POST", headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" }, body: "grant_type=client_credentials" });
  const accessToken = (await first.json()).access_token;
  const list = scenarios({ basic, accessToken });
  for (const s of list) await check(base, s);
  list.push({ name: `refresh rotations c${ROTATION_WORKERS}`, connections: ROTATION_WORKERS, run: rotations(base, webBasic) });
  const flowName = `code flows c${FLOW_WORKERS}`;
  if (!ONLY || ONLY.some((word) => flowName.startsWith(word))) {
    // signed in once, outside the measured time; the session and the consent last the whole run
    const session = { clientId: spaClientId, cookie: await signInAndConsent(base, spaClientId) };
    list.push({ name: flowName, connections: FLOW_WORKERS, run: codeFlows(base, session) });
  }
  const startLoad = loadavg();
  const runs = [];
  for (const s of list.filter((s) => !ONLY || ONLY.some((word) => s.name.startsWith(word)))) {
    const run = s.run ?? ((duration) => load(base, s, duration));
    await run(WARMUP);
    const cpu0 = cpuSeconds(state.server.pid);
    const client0 = process.cpuUsage();
    const r = await run(DURATION);
    const cpu = cpuSeconds(state.server.pid) - cpu0;
    const clientCpu = process.cpuUsage(client0);
    if (gone(state.server)) throw new Error(`server ${exitReason(state.server)} during ${s.name}`);
    runs.push({
      scenario: s.name, connections: s.connections, reqPerSec: Math.round(r.requests.mean),
      p50Ms: r.latency.p50, p99Ms: r.latency.p99, errors: r.errors, non2xx: r.non2xx,
      // Server CPU per request: less sensitive to other load on the machine than req/s.
      cpuMsPerReq: Number(((1000 * cpu) / r.requests.total).toFixed(3)),
      clientCpuMsPerReq: Number(((clientCpu.user + clientCpu.system) / 1000 / r.requests.total).toFixed(3)),
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
  const rate = (prefix) => runs.find((r) => r.scenario.startsWith(prefix))?.reqPerSec;
  const [flowRate, rotationRate] = [rate("code flows"), rate("refresh rotations")];
  if (flowRate !== undefined && rotationRate) {
    console.log(`code flows (GET /authorize + code exchange, per s) / refresh rotations: ${(flowRate / rotationRate).toFixed(2)} (target >= 0.8)`);
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
