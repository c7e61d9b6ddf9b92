// Side-by-side load benchmark: tessera against node-oidc-provider (the "peer") and a bare Fastify +
// jose server (the "ceiling"), under the same autocannon load on loopback.
//
// Each server is a real child process: tessera as deployed (`node dist/server.js`, fresh SQLite db in a
// temp dir, client made with the real CLI), the peer and the ceiling from this folder. Scenarios: POST
// /token client_credentials (Basic auth, form body with scope and resource) at 10 and 50 connections,
// the JWKS at 50; plus tessera with SIGNING_ALG=ES256 and the ceiling with ES256 keys, for /token at 50.
// The machine is shared and its speed drifts (a load can run at half the speed of one a minute
// earlier), so the servers are started once and a ratio compares loads that ran back to back: each
// round runs a scenario on every server in turn before the next scenario (round 1: tessera, peer,
// ceiling; round 2 in reverse order; ...). The table shows medians over rounds, and the median of the
// per-round ratios. BENCH_FRESH=1 restarts each server for each round instead and runs all of one
// server's loads together (the harness before 2026-12-07: pairs a minute or more apart).
//
// DPoP (RFC 9449): "token dpop c50" is the same /token load with a DPoP proof on every request, on
// tessera (right after its Bearer "token c50", same process: the row shows DPoP/Bearer), on
// node-oidc-provider (its dPoP feature on, replay detection on) and on the ceiling (the least checking
// RFC 9449 §4.3 asks, with jtis in memory: its DPoP/Bearer is the yardstick for tessera's). Each request carries a fresh proof (own
// jti, current iat, htu of that server's token endpoint). Signing them costs CPU that this 2-core
// machine's server needs too, so a pool of proofs (BENCH_DPOP_RPS x the load's seconds) is signed just
// before each load (warm-up and measured load alike) and autocannon's per-request hook only takes the
// next one: the server is measured, not the client's signer (dpop-proofs.mjs). A pool that runs out is
// refilled by signing during the load, counted, and fails the run; so does any answer that is not a 200
// with token_type DPoP. Every Bearer token load goes through the same hook (adding no header) and the
// same check (token_type Bearer), so the load generator's work per request is the same in both (load).
// Before the load, one proof is checked end to end (cnf.jkt is the key's thumbprint) and replayed (it
// must be refused: both servers do the jti check).
// Each load must end within the servers' iat window (tessera: 60 s plus its clock skew; oidc-provider:
// 300 s; the ceiling: 60 s): with the DPoP scenario BENCH_DURATION is at most 50.
// Results: a table on stdout and bench/results/peers.json.
//
// Run:  npm run bench:peers   (builds tessera, installs this folder's own deps, runs this file)
// Env:  BENCH_DURATION=10  seconds measured per load    BENCH_WARMUP=2  seconds of warm-up before each
//       BENCH_ROUNDS=3     interleaved rounds            BENCH_ES256=0   skips the two ES256 rows
//       BENCH_FRESH=1      a fresh process per server and round (see above)
//       BENCH_SERVERS=tessera,ceiling  a subset (keys: tessera, peer, ceiling, tesseraNoStatus,
//                          tesseraEs256, ceilingEs256); tesseraNoStatus is tessera with STATUS_LIST=off
//                          (no status claim), for /token: its row shows tessera (on) / off
//       BENCH_SCENARIOS=jwks  only the scenarios whose names start with one of these words
//       BENCH_RESULTS=path  where the JSON goes (default bench/results/peers.json)
//       BENCH_DPOP=0       skips the DPoP scenario       BENCH_DPOP_RPS=6000  upper bound of req/s that
//                          sizes each proof pool (raise it when the run fails with "pool ran out")
//       Server settings pass through to tessera (e.g. METRICS=off); RATE_LIMIT_TOKEN defaults to 0.
import autocannon from "autocannon";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { dpopKey, ProofPool, signProof } from "./dpop-proofs.mjs";
import { AUDIENCE, cleanup, exitReason, gone, HERE, request, ROOT, SCOPE, SERVERS as ALL_SERVERS, stopChild, TOKEN_BODY } from "./servers.mjs";

const RESULTS = path.resolve(ROOT, process.env.BENCH_RESULTS ?? "bench/results/peers.json");
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const FRESH = process.env.BENCH_FRESH === "1";
const WITH_ES256 = process.env.BENCH_ES256 !== "0";
const WITH_DPOP = process.env.BENCH_DPOP !== "0";
const DPOP_RPS = Number(process.env.BENCH_DPOP_RPS ?? 6000); // tessera has served 3,920 DPoP req/s here: 4000 left no room
const DPOP_MAX_DURATION = 50; // proofs signed before a load must still be in tessera's 60 s iat window at its end
const ONLY = process.env.BENCH_SERVERS?.split(",").map((s) => s.trim()).filter(Boolean); // e.g. tessera,ceiling
const ONLY_SCENARIOS = process.env.BENCH_SCENARIOS?.split(",").map((s) => s.trim()).filter(Boolean); // e.g. jwks

const SCENARIOS = [
  { name: "token c10", kind: "token", connections: 10 },
  { name: "token c50", kind: "token", connections: 50 },
  { name: "jwks c50", kind: "jwks", connections: 50 },
  // After "token c50" in the same process, for the DPoP/Bearer ratio.
  ...(WITH_DPOP ? [{ name: "token dpop c50", kind: "token", dpop: true, connections: 50, servers: ["tessera", "peer", "ceiling"] }] : []),
];
const scenariosOf = (server) =>
  SCENARIOS.filter((s) => (!server.only || server.only.includes(s.name)) && (!s.servers || s.servers.includes(server.key)) &&
    (!ONLY_SCENARIOS || ONLY_SCENARIOS.some((word) => s.name.startsWith(word))));

const loadavg = () => os.loadavg().map((n) => n.toFixed(2)).join(" ");
const median = (xs) => {
  const s = xs.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** CPU seconds the process has used (all threads: user + system), from /proc/<pid>/stat. */
const cpuSeconds = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
};

const peakRssMiB = (pid) => {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return kb ? Math.round(Number(kb) / 1024) : null;
};

// ---- servers ---------------------------------------------------------------------------------------

const SERVERS = ALL_SERVERS.filter((s) => (WITH_ES256 || s.alg !== "ES256") && (!ONLY || ONLY.includes(s.key)));

/** One token and the JWKS before any load: status, alg, typ, no-store, and a signature that verifies. */
async function checkFirstResponses(server, running) {
  const jwksRes = await fetch(running.base + server.jwksPath);
  const jwksText = await jwksRes.text();
  const jwks = jwksRes.status === 200 ? JSON.parse(jwksText) : null;
  if (!jwks?.keys?.length) throw new Error(`${server.label}: JWKS answered ${jwksRes.status} without keys`);
  if (jwks.keys.some((k) => k.d || k.p || k.q)) throw new Error(`${server.label}: JWKS publishes private key material`);

  const req = request(server, running, "token");
  const res = await fetch(running.base + req.path, { method: req.method, headers: req.headers, body: req.body });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${server.label}: first /token answered ${res.status}: ${text.slice(0, 200)}`);
  const body = JSON.parse(text);
  if (typeof body.access_token !== "string") throw new Error(`${server.label}: first /token has no access_token`);
  if (!/no-store/.test(res.headers.get("cache-control") ?? "")) throw new Error(`${server.label}: /token response lacks Cache-Control: no-store`);
  const header = decodeProtectedHeader(body.access_token);
  if (header.alg !== server.alg) throw new Error(`${server.label}: token alg ${header.alg}, expected ${server.alg}`);
  if (header.typ !== "at+jwt") throw new Error(`${server.label}: token typ ${header.typ}, expected at+jwt`);
  const { payload } = await jwtVerify(body.access_token, createLocalJWKSet(jwks), { audience: AUDIENCE, issuer: running.base, typ: "at+jwt" });
  if (payload.scope !== SCOPE) throw new Error(`${server.label}: token scope ${JSON.stringify(payload.scope)}, expected ${JSON.stringify(SCOPE)}`);
  return { alg: header.alg, typ: header.typ, tokenBytes: body.access_token.length, claims: Object.keys(payload).sort(), jwks };
}

/**
 * One DPoP-bound token before any load: 200, token_type DPoP, cnf.jkt the proof key's thumbprint; and
 * the same proof again is refused (the jti check is on, so both servers pay for it under load).
 */
async function checkFirstDpop(server, running, jwks) {
  const key = dpopKey();
  const req = request(server, running, "token");
  const proof = signProof(key, running.base + req.path);
  const send = () => fetch(running.base + req.path, { method: req.method, headers: { ...req.headers, dpop: proof }, body: req.body });
  const res = await send();
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${server.label}: first DPoP /token answered ${res.status}: ${text.slice(0, 200)}`);
  const body = JSON.parse(text);
  if (body.token_type !== "DPoP") throw new Error(`${server.label}: DPoP /token answered token_type ${JSON.stringify(body.token_type)}`);
  const { payload } = await jwtVerify(body.access_token, createLocalJWKSet(jwks), { audience: AUDIENCE, issuer: running.base, typ: "at+jwt" });
  if (payload.cnf?.jkt !== key.thumbprint) throw new Error(`${server.label}: DPoP token's cnf ${JSON.stringify(payload.cnf)}, expected jkt ${key.thumbprint}`);
  const replay = await send();
  const replayText = await replay.text();
  if (replay.status < 400 || replay.status > 499) throw new Error(`${server.label}: a replayed DPoP proof answered ${replay.status}: ${replayText.slice(0, 200)}`);
  return { tokenType: body.token_type, cnf: Object.keys(payload.cnf), replayAnswer: `${replay.status} ${JSON.parse(replayText).error}` };
}

/**
 * An autocannon load. A token load builds every request in autocannon's per-request hook and checks
 * every answer's token_type (a mismatch is counted, autocannon's verifyBody): with `pool` the hook adds
 * the next proof as the DPoP header and the answer must be token_type DPoP, else it adds nothing and
 * the answer must be Bearer. So the load generator, which shares this 2-core machine with the server,
 * does the same work per request under Bearer and DPoP, and DPoP/Bearer measures the server: with the
 * hook and the check on the DPoP load only, the client's extra CPU per request (0.04-0.08 ms, measured
 * 2026-12-07) counted against DPoP.
 */
const load = (base, req, { kind, connections }, seconds, pool) =>
  autocannon({
    url: base + req.path, method: req.method, headers: req.headers, body: req.body, connections, pipelining: 1, duration: seconds,
    ...(kind === "token" && {
      requests: [{ setupRequest: pool ? (r) => ((r.headers.dpop = pool.next()), r) : (r) => r }],
      verifyBody: (body) => body.includes(`"token_type":"${pool ? "DPoP" : "Bearer"}"`),
    }),
  });

/** A pool for one load of `seconds` against this server's token endpoint, signed now (fresh iat). */
const poolFor = (key, running, req, seconds) => new ProofPool(key, running.base + req.path, Math.ceil(seconds * DPOP_RPS));

/** Starts one server and checks its first answers (stopped again if a check fails). */
async function startServer(state, server) {
  const t0 = Date.now();
  const running = await server.start(state);
  const startSeconds = (Date.now() - t0) / 1000;
  try {
    const check = await checkFirstResponses(server, running);
    if (scenariosOf(server).some((s) => s.dpop)) check.dpop = await checkFirstDpop(server, running, check.jwks);
    delete check.jwks;
    return { server, running, check, startSeconds, cliSeconds: running.cliSeconds, rssAfterStartMiB: peakRssMiB(running.child.pid) };
  } catch (e) {
    await stopServer(state, running);
    throw e;
  }
}

async function stopServer(state, running) {
  await stopChild(running.child);
  state.children.delete(running.child);
  if (running.tmp) {
    rmSync(running.tmp, { recursive: true, force: true });
    state.tmps.delete(running.tmp);
  }
}

/** One scenario on a started server: a warm-up load, then the measured one. */
async function runScenario({ server, running, rssAfterStartMiB }, scenario, round) {
  const req = request(server, running, scenario.kind);
  const key = scenario.dpop ? dpopKey() : null; // one client, one key, for warm-up and load
  const warmupPool = key && poolFor(key, running, req, WARMUP);
  const warmup = await load(running.base, req, scenario, WARMUP, warmupPool);
  const pool = key && poolFor(key, running, req, DURATION);
  const cpu0 = cpuSeconds(running.child.pid);
  const r = await load(running.base, req, scenario, DURATION, pool);
  const cpu = cpuSeconds(running.child.pid) - cpu0;
  if (gone(running.child)) throw new Error(`${server.label} ${exitReason(running.child)} during ${scenario.name}`);
  return {
    round, server: server.key, scenario: scenario.name, connections: scenario.connections,
    reqPerSec: Math.round(r.requests.mean), p50Ms: r.latency.p50, p99Ms: r.latency.p99,
    errors: r.errors, non2xx: r.non2xx, total: r.requests.total,
    ...(scenario.kind === "token" && { wrongTokenType: r.mismatches + warmup.mismatches }), // 2xx answers of another token_type
    ...(pool && {
      // Warm-up failures count too: a server that refuses proofs must not pass on a later success.
      warmupErrorsPlusNon2xx: warmup.errors + warmup.non2xx,
      proofsSignedDuringLoad: pool.signedDuringLoad + warmupPool.signedDuringLoad,
      proofPool: pool.proofs.length,
    }),
    cpuMsPerReq: Number(((1000 * cpu) / Math.max(1, r.requests.total)).toFixed(3)),
    rssAfterStartMiB, peakRssMiB: peakRssMiB(running.child.pid), load1: Number(os.loadavg()[0].toFixed(2)),
  };
}

/**
 * The loads of one round, in the order that puts the loads a ratio compares closest in time: scenario
 * by scenario, each on every server back to back (a DPoP load right after the same server's Bearer
 * "token c50"), servers in reverse order every other round, so that neither side of a pair always
 * runs first while the machine's speed drifts.
 */
function roundPlan(started, round) {
  const order = round % 2 ? started : [...started].reverse();
  const plan = [];
  for (const scenario of SCENARIOS.filter((s) => !s.dpop)) {
    for (const s of order) {
      const mine = scenariosOf(s.server);
      if (mine.includes(scenario)) plan.push([s, scenario]);
      if (scenario.name === "token c50") for (const d of mine.filter((m) => m.dpop)) plan.push([s, d]);
    }
  }
  return plan;
}

// ---- report ----------------------------------------------------------------------------------------

/** Failed answers of a run: errors, non-2xx, 2xx tokens of the wrong token_type and, under DPoP, warm-up failures. */
const failures = (r) => r.errors + r.non2xx + (r.wrongTokenType ?? 0) + (r.warmupErrorsPlusNon2xx ?? 0);

function summarise(allRuns) {
  const out = {};
  for (const server of SERVERS) {
    for (const scenario of SCENARIOS) {
      const rs = allRuns.filter((r) => r.server === server.key && r.scenario === scenario.name);
      if (!rs.length) continue;
      (out[scenario.name] ??= {})[server.key] = {
        reqPerSec: Math.round(median(rs.map((r) => r.reqPerSec))),
        p50Ms: median(rs.map((r) => r.p50Ms)),
        p99Ms: median(rs.map((r) => r.p99Ms)),
        errorsPlusNon2xx: rs.reduce((n, r) => n + failures(r), 0),
        cpuMsPerReq: median(rs.map((r) => r.cpuMsPerReq)),
        peakRssMiB: median(rs.map((r) => r.peakRssMiB)),
        reqPerSecByRound: rs.map((r) => r.reqPerSec),
      };
    }
  }
  return out;
}

/**
 * Median over rounds of the per-round ratio a/b (servers of one round ran back to back); b's scenario is
 * scenarioB when given (DPoP/Bearer: one server, two scenarios of the same process).
 */
function pairedRatio(allRuns, scenario, a, b, field, scenarioB = scenario) {
  const ratios = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const ra = allRuns.find((r) => r.round === round && r.server === a && r.scenario === scenario);
    const rb = allRuns.find((r) => r.round === round && r.server === b && r.scenario === scenarioB);
    if (ra && rb && rb[field]) ratios.push(ra[field] / rb[field]);
  }
  return median(ratios);
}

const fmt = (x, digits = 0) => (x === null || x === undefined ? "" : Number(x).toFixed(digits));
const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}x` : "");

function table(summary, allRuns) {
  const header = ["scenario", "server", "req/s", "req/s by round", "p50 ms", "p99 ms", "err+non2xx", "cpu ms/req", "peak RSS MiB", "req/s vs peer", "req/s vs ceiling"];
  const rows = [];
  const ratios = {};
  for (const scenario of SCENARIOS) {
    const s = summary[scenario.name];
    if (!s) continue;
    const t = s.tessera;
    for (const server of SERVERS) {
      const v = s[server.key];
      if (!v) continue;
      let vsPeer = "", vsCeiling = "";
      if (server.key === "tessera") {
        vsPeer = ratio(t.reqPerSec, s.peer?.reqPerSec);
        vsCeiling = ratio(t.reqPerSec, s.ceiling?.reqPerSec);
        ratios[scenario.name] = {
          tesseraOverPeerReqPerSec: s.peer ? t.reqPerSec / s.peer.reqPerSec : null,
          tesseraOverCeilingReqPerSec: s.ceiling ? t.reqPerSec / s.ceiling.reqPerSec : null,
          pairedTesseraOverPeer: pairedRatio(allRuns, scenario.name, "tessera", "peer", "reqPerSec"),
          pairedTesseraOverCeiling: pairedRatio(allRuns, scenario.name, "tessera", "ceiling", "reqPerSec"),
          ...(scenario.connections === 50 && s.ceiling && { tesseraP99OverCeilingP99: t.p99Ms / s.ceiling.p99Ms }),
        };
        const bearer = summary["token c50"]?.tessera;
        if (scenario.dpop && bearer) {
          vsCeiling = [vsCeiling, `DPoP/Bearer ${ratio(t.reqPerSec, bearer.reqPerSec)}`].filter(Boolean).join(", ");
          ratios[scenario.name].dpopOverBearerReqPerSec = t.reqPerSec / bearer.reqPerSec;
          ratios[scenario.name].pairedDpopOverBearer = pairedRatio(allRuns, scenario.name, "tessera", "tessera", "reqPerSec", "token c50");
        }
      }
      if (server.key === "ceiling" && scenario.dpop && summary["token c50"]?.ceiling) {
        vsCeiling = `DPoP/Bearer ${ratio(v.reqPerSec, summary["token c50"].ceiling.reqPerSec)}`;
        (ratios[scenario.name] ??= {}).pairedCeilingDpopOverBearer = pairedRatio(allRuns, scenario.name, "ceiling", "ceiling", "reqPerSec", "token c50");
      }
      if (server.key === "tesseraNoStatus" && t) {
        vsPeer = `on/off ${ratio(t.reqPerSec, v.reqPerSec)}`;
        vsCeiling = ratio(v.reqPerSec, s.ceiling?.reqPerSec);
        (ratios[scenario.name] ??= {}).statusOnOverOffReqPerSec = t.reqPerSec / v.reqPerSec;
        ratios[scenario.name].pairedStatusOnOverOff = pairedRatio(allRuns, scenario.name, "tessera", "tesseraNoStatus", "reqPerSec");
        if (s.ceiling) ratios[scenario.name].pairedStatusOffOverCeiling = pairedRatio(allRuns, scenario.name, "tesseraNoStatus", "ceiling", "reqPerSec");
      }
      if (server.key === "tesseraEs256" && t) {
        vsPeer = `vs RS256 ${ratio(v.reqPerSec, t.reqPerSec)}`;
        vsCeiling = ratio(v.reqPerSec, s.ceilingEs256?.reqPerSec);
        ratios[scenario.name].es256OverRs256ReqPerSec = v.reqPerSec / t.reqPerSec;
        ratios[scenario.name].pairedEs256OverRs256 = pairedRatio(allRuns, scenario.name, "tesseraEs256", "tessera", "reqPerSec");
        if (s.ceilingEs256) ratios[scenario.name].pairedEs256OverCeilingEs256 = pairedRatio(allRuns, scenario.name, "tesseraEs256", "ceilingEs256", "reqPerSec");
      }
      if (server.key === "ceilingEs256" && s.ceiling) {
        vsPeer = `vs RS256 ${ratio(v.reqPerSec, s.ceiling.reqPerSec)}`;
        (ratios[scenario.name] ??= {}).ceilingEs256OverRs256ReqPerSec = v.reqPerSec / s.ceiling.reqPerSec;
        ratios[scenario.name].pairedCeilingEs256OverRs256 = pairedRatio(allRuns, scenario.name, "ceilingEs256", "ceiling", "reqPerSec");
      }
      rows.push([scenario.name, server.label, fmt(v.reqPerSec), v.reqPerSecByRound.join("/"), fmt(v.p50Ms, 1), fmt(v.p99Ms, 1),
        String(v.errorsPlusNon2xx), fmt(v.cpuMsPerReq, 3), fmt(v.peakRssMiB), vsPeer, vsCeiling]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  const text = [line(header), widths.map((w) => "-".repeat(w)).join("  ")];
  let last = null;
  for (const r of rows) {
    if (last !== null && r[0] !== last) text.push("");
    text.push(line(r[0] === last ? ["", ...r.slice(1)] : r));
    last = r[0];
  }
  const p99 = SCENARIOS.filter((s) => s.connections === 50 && ratios[s.name]?.tesseraP99OverCeilingP99)
    .map((s) => `${s.name} ${ratios[s.name].tesseraP99OverCeilingP99.toFixed(2)}x`);
  text.push("", `tessera p99 / ceiling p99 at 50 connections: ${p99.join(", ")}`);
  const paired = SCENARIOS.filter((s) => ratios[s.name]).map((s) => {
    const r = ratios[s.name];
    // A ratio is printed only when both of its servers ran (BENCH_SERVERS may leave some out).
    const parts = [
      ["vs peer", r.pairedTesseraOverPeer],
      ["DPoP/Bearer", r.pairedDpopOverBearer],
      ["ceiling's own DPoP/Bearer", r.pairedCeilingDpopOverBearer],
      ["vs ceiling", r.pairedTesseraOverCeiling],
      ["status on/off", r.pairedStatusOnOverOff],
      ["STATUS_LIST=off vs ceiling", r.pairedStatusOffOverCeiling],
      ["ES256/RS256", r.pairedEs256OverRs256],
      ["ES256 vs ceiling ES256", r.pairedEs256OverCeilingEs256],
      ["ceiling's own ES256/RS256", r.pairedCeilingEs256OverRs256],
    ].filter(([, x]) => x).map(([label, x]) => `${label} ${fmt(x, 2)}x`);
    return parts.length ? `${s.name}: ${parts.join(", ")}` : null;
  }).filter(Boolean);
  text.push(`median of per-round req/s ratios (same-round pairs): ${paired.join("; ")}`);
  const dpop = ratios["token dpop c50"];
  if (dpop) {
    const target = (label, x, min) => (x ? `${label} ${fmt(x, 2)}x (target >= ${min}: ${x >= min ? "met" : "NOT met"})` : null);
    const parts = [target("tessera DPoP/Bearer", dpop.pairedDpopOverBearer, 0.8), target("tessera DPoP / oidc-provider DPoP", dpop.pairedTesseraOverPeer, 1.5)];
    text.push(`DPoP, paired by round: ${parts.filter(Boolean).join("; ")}`);
  }
  return { text: text.join("\n"), ratios };
}

// ---- main ------------------------------------------------------------------------------------------

async function main(state) {
  if (WITH_DPOP && Math.max(DURATION, WARMUP) > DPOP_MAX_DURATION) {
    throw new Error(`BENCH_DURATION and BENCH_WARMUP must be at most ${DPOP_MAX_DURATION} s with the DPoP scenario (its proofs, signed before each load, must stay within the servers' iat window); BENCH_DPOP=0 skips it`);
  }
  for (const f of ["dist/server.js", "dist/cli/index.js"]) {
    if (!existsSync(path.join(ROOT, f))) throw new Error(`${f} is missing: build tessera first (npm run bench:peers does)`);
  }
  const wall0 = Date.now();
  const startLoad = loadavg();
  let gitState = null;
  try {
    gitState = execFileSync("git", ["describe", "--always", "--dirty"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {} // not a git checkout
  const versions = {
    oidcProvider: JSON.parse(readFileSync(path.join(HERE, "node_modules/oidc-provider/package.json"), "utf8")).version,
    fastify: JSON.parse(readFileSync(path.join(HERE, "node_modules/fastify/package.json"), "utf8")).version,
    jose: JSON.parse(readFileSync(path.join(HERE, "node_modules/jose/package.json"), "utf8")).version,
  };
  console.log(`peers bench: ${ROUNDS} rounds x ${SERVERS.map((s) => s.label).join(", ")}; ${WARMUP} s warm-up + ${DURATION} s per load; ` +
    `node ${process.version}, ${os.cpus().length} CPUs, oidc-provider ${versions.oidcProvider}, tessera ${gitState}; load avg (1 5 15) ${startLoad}`);
  const allRuns = [];
  const checks = {};
  const startSeconds = {};
  const started = [];
  const logRun = (r, s) => console.log(`round ${r.round} ${s.server.label.padEnd(23)} ${r.scenario.padEnd(14)} ${String(r.reqPerSec).padStart(6)} req/s p99 ${r.p99Ms} ms; load1 ${r.load1}`);
  const start = async (server) => {
    const s = await startServer(state, server);
    checks[server.key] ??= s.check;
    (startSeconds[server.key] ??= []).push(s.cliSeconds === undefined ? { total: s.startSeconds } : { total: s.startSeconds, cli: s.cliSeconds });
    return s;
  };
  if (!FRESH) for (const server of SERVERS) started.push(await start(server));
  for (let round = 1; round <= ROUNDS; round++) {
    if (FRESH) {
      // Each server on its own, started fresh: its loads, then stopped before the next one starts.
      for (const server of SERVERS) {
        if (state.interrupted) return 130;
        const s = await start(server);
        try {
          for (const scenario of scenariosOf(server)) {
            const r = await runScenario(s, scenario, round);
            allRuns.push(r);
            logRun(r, s);
          }
        } finally {
          await stopServer(state, s.running);
        }
      }
      continue;
    }
    for (const [s, scenario] of roundPlan(started, round)) {
      if (state.interrupted) return 130;
      const r = await runScenario(s, scenario, round);
      allRuns.push(r);
      logRun(r, s);
    }
  }
  const summary = summarise(allRuns);
  const { text, ratios } = table(summary, allRuns);
  const report = {
    date: new Date().toISOString(), tessera: gitState, node: process.version, cpus: os.cpus().length, versions,
    durationSeconds: DURATION, warmupSeconds: WARMUP, rounds: ROUNDS, tokenRequestBody: TOKEN_BODY,
    loadavg: { start: startLoad, end: loadavg() }, wallSeconds: Math.round((Date.now() - wall0) / 1000),
    startSeconds, firstResponseChecks: checks, summary, ratios, runs: allRuns,
  };
  mkdirSync(path.dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify(report, null, 2)}\n`);
  console.log("");
  console.log(text);
  console.log(`\nload avg (1 5 15) start ${startLoad}, end ${report.loadavg.end}; wall ${report.wallSeconds} s; written to ${path.relative(ROOT, RESULTS)}`);
  const failed = allRuns.filter((r) => failures(r) > 0 || r.proofsSignedDuringLoad > 0);
  for (const r of failed) {
    const token = r.wrongTokenType === undefined ? "" : `, ${r.wrongTokenType} answers of another token_type`;
    const dpop = r.proofPool === undefined ? "" :
      `, ${r.warmupErrorsPlusNon2xx} failed in warm-up, ` +
      `${r.proofsSignedDuringLoad} proofs signed during the load (pool of ${r.proofPool} ran out: raise BENCH_DPOP_RPS)`;
    console.log(`FAIL round ${r.round} ${r.server} ${r.scenario}: ${r.errors} errors, ${r.non2xx} non-2xx responses${token}${dpop}`);
  }
  return failed.length ? 1 : 0;
}

const state = { children: new Set(), tmps: new Set(), seenWarnings: new Set(), interrupted: false };
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    state.interrupted = true;
    console.error(`${signal}; cleaning up`);
    cleanup(state).finally(() => process.exit(130));
  });
}
let code = 1;
try {
  code = await main(state);
} catch (e) {
  if (!state.interrupted) console.error(`FAIL ${e.message}`);
} finally {
  await cleanup(state);
}
process.exit(code);
