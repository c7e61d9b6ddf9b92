// Instructions per request, counted by valgrind's callgrind: tessera against the bare ceiling on the
// two answers whose cost is the server's own code rather than RSA arithmetic (the JWKS, and /token
// with ES256 keys), in a unit that this shared machine's noise does not blur. Requests per second
// drift by a third from one minute to the next here. An instruction count repeats within 0.2% from
// window to window of one process, and within about 10% from one fresh process to another (V8 does not
// optimise the same way every time), so it shows where the work is and whether a change adds some.
//
// Instructions are not time. A megamorphic property lookup and a string copy of the same count take
// different nanoseconds, and the kernel's part (syscalls, thread wake-ups: about a quarter of an ES256
// token's CPU on this VM, by perf) is not counted at all. Read it beside bench:peers, not instead of it.
//
// Each server runs under `valgrind --tool=callgrind` (about 30 times slower) with counting off, takes
// autocannon's load (10 connections) for a warm-up long enough for V8 to optimise the hot path, then
// counts one window of that same load. Connections stay open across the window: opening and closing
// them is not part of a request's cost in bench:peers either. Threads are counted apart, so the table
// shows the main thread (the event loop, which limits these answers) beside the process's total (which
// adds signing on libuv's pool and V8's background compiler and collector).
//
// Run:  npm run bench:instructions   (needs valgrind; builds tessera first)
// Env:  BENCH_WARMUP=60   seconds of load before counting     BENCH_WINDOW=15  seconds counted
//       BENCH_SERVERS=tessera,ceiling  a subset (keys: tessera, ceiling, tesseraEs256, ceilingEs256)
// Output: a table on stdout, bench/results/instructions.json, and the callgrind files beside it
// (callgrind_annotate <file> lists the functions that took the instructions).
import autocannon from "autocannon";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { cleanup, request, ROOT, SERVERS, sleep } from "./servers.mjs";

const OUT = path.join(ROOT, "bench/results");
const CALLGRIND_DIR = path.join(OUT, "callgrind");
const WARMUP = Number(process.env.BENCH_WARMUP ?? 60);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 15);
const KEYS = process.env.BENCH_SERVERS?.split(",").map((s) => s.trim()).filter(Boolean) ?? ["tessera", "ceiling", "tesseraEs256", "ceilingEs256"];
const CONNECTIONS = 10;

// valgrind names the pipes that callgrind_control talks through after $HOST, which tessera's own
// settings also use: every process here must see the same value.
process.env.HOST = "127.0.0.1";

const tool = (cmd, args) => execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const callgrindControl = (pid, ...args) => tool("callgrind_control", [...args, String(pid)]);

/** The instruction count a callgrind file holds (its "summary:" line). */
const instructionsIn = (file) => Number(/^summary: (\d+)/m.exec(readFileSync(file, "utf8"))?.[1] ?? NaN);

/** Loads `kind` ("jwks" or "token") on a server under callgrind and counts one window: instructions per request. */
async function countWindow(server, running, kind) {
  const req = request(server, running, kind);
  let answered = 0;
  let failed = 0;
  const load = autocannon({ url: running.base + req.path, method: req.method, headers: req.headers, body: req.body,
    connections: CONNECTIONS, pipelining: 1, duration: WARMUP + WINDOW + 60 });
  load.on("response", (_client, status) => (status >= 200 && status < 300 ? answered++ : failed++));
  const done = new Promise((resolve) => load.once("done", resolve));
  try {
    await sleep(WARMUP * 1000);
    const pid = running.child.pid;
    callgrindControl(pid, "--instr=on");
    callgrindControl(pid, "--zero");
    const before = answered;
    await sleep(WINDOW * 1000);
    callgrindControl(pid, "--dump");
    const requests = answered - before;
    callgrindControl(pid, "--instr=off");
    if (failed > 0) throw new Error(`${server.label} ${kind}: ${failed} answers were not 2xx`);
    // callgrind names a dump <out-file>.<n>-<thread>, thread 01 being the main one.
    const dumps = readdirSync(CALLGRIND_DIR).filter((f) => new RegExp(`^${server.key}\\.${pid}\\.\\d+-\\d+$`).test(f));
    let allThreads = 0;
    let eventLoop = 0;
    for (const dump of dumps) {
      const file = path.join(CALLGRIND_DIR, `${server.key}.${kind}.thread-${dump.split("-").pop()}.out`);
      renameSync(path.join(CALLGRIND_DIR, dump), file);
      const count = instructionsIn(file);
      allThreads += count;
      if (dump.endsWith("-01")) eventLoop = count;
    }
    return { server: server.key, kind, requests, eventLoopPerRequest: Math.round(eventLoop / requests), allThreadsPerRequest: Math.round(allThreads / requests) };
  } finally {
    load.stop();
    await done;
  }
}

async function main(state) {
  try {
    tool("valgrind", ["--version"]);
  } catch {
    throw new Error("valgrind is not installed (Debian: apt-get install valgrind)");
  }
  if (!existsSync(path.join(ROOT, "dist/server.js"))) throw new Error("dist/server.js is missing: build tessera first (npm run bench:instructions does)");
  rmSync(CALLGRIND_DIR, { recursive: true, force: true });
  mkdirSync(CALLGRIND_DIR, { recursive: true });
  const servers = SERVERS.filter((s) => KEYS.includes(s.key) && s.key !== "peer");
  console.log(`instructions bench: ${servers.map((s) => s.label).join(", ")}; ${WARMUP} s warm-up + ${WINDOW} s counted per answer, ${CONNECTIONS} connections, under callgrind`);
  const results = [];
  for (const server of servers) {
    const wrap = ["valgrind", "--quiet", "--tool=callgrind", "--instr-atstart=no", "--separate-threads=yes", `--callgrind-out-file=${CALLGRIND_DIR}/${server.key}.%p`];
    const running = await server.start(state, { wrap });
    try {
      const r = await countWindow(server, running, server.alg === "ES256" ? "token" : "jwks");
      results.push(r);
      console.log(`${server.label.padEnd(13)} ${r.kind.padEnd(5)} ${String(r.eventLoopPerRequest).padStart(7)} instructions per request on the event loop, ${String(r.allThreadsPerRequest).padStart(7)} in all threads (${r.requests} requests counted)`);
    } finally {
      await cleanup(state);
      // callgrind's own dump at exit counts nothing here (counting was off outside the windows).
      const atExit = new RegExp(`^${server.key}\\.${running.child.pid}(-\\d+)?$`);
      for (const f of readdirSync(CALLGRIND_DIR).filter((f) => atExit.test(f))) rmSync(path.join(CALLGRIND_DIR, f));
    }
  }
  const find = (server, kind) => results.find((r) => r.server === server && r.kind === kind);
  const ratios = [["tessera", "ceiling", "jwks"], ["tesseraEs256", "ceilingEs256", "token"]]
    .filter(([a, b, kind]) => find(a, kind) && find(b, kind))
    .map(([a, b, kind]) => ({
      answer: `${a} ${kind}`,
      versus: b,
      eventLoop: find(a, kind).eventLoopPerRequest / find(b, kind).eventLoopPerRequest,
      allThreads: find(a, kind).allThreadsPerRequest / find(b, kind).allThreadsPerRequest,
    }));
  console.log("");
  for (const r of ratios) console.log(`${r.answer} / ${r.versus}: ${r.eventLoop.toFixed(2)}x the instructions on the event loop, ${r.allThreads.toFixed(2)}x in all threads`);
  const report = { date: new Date().toISOString(), node: process.version, warmupSeconds: WARMUP, windowSeconds: WINDOW, connections: CONNECTIONS, results, ratios };
  writeFileSync(path.join(OUT, "instructions.json"), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwritten to bench/results/instructions.json; callgrind files in ${path.relative(ROOT, CALLGRIND_DIR)}/`);
  return 0;
}

const state = { children: new Set(), tmps: new Set(), seenWarnings: new Set() };
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => cleanup(state).finally(() => process.exit(130)));
}
let code = 1;
try {
  code = await main(state);
} catch (e) {
  console.error(`FAIL ${e.message}`);
} finally {
  await cleanup(state);
}
process.exit(code);
