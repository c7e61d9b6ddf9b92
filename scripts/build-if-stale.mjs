// Compiles src/ to dist/ when dist/ is missing or older than a source, and otherwise does nothing
// (a few milliseconds), so `npm start` and `npm run tessera` compile once, not on every call.
// A lock directory keeps concurrent starts from compiling over each other.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const STAMP = path.join(ROOT, "dist", ".build-stamp");
const LOCK = path.join(ROOT, "dist", ".build-lock");
const INPUTS = ["src", "tsconfig.json", "tsconfig.build.json", "package.json"];

function newest(file) {
  const stat = fs.statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs; // a deleted or renamed file changes its directory's mtime
  for (const entry of fs.readdirSync(file)) latest = Math.max(latest, newest(path.join(file, entry)));
  return latest;
}

const stampTime = () => {
  try {
    return fs.statSync(STAMP).mtimeMs;
  } catch {
    return -1;
  }
};

const stale = () => stampTime() < Math.max(...INPUTS.map((name) => newest(path.join(ROOT, name))));

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function lock() {
  fs.mkdirSync(path.dirname(LOCK), { recursive: true });
  for (;;) {
    try {
      fs.mkdirSync(LOCK);
      return;
    } catch (e) {
      if (e.code !== "EEXIST") throw e;
      // A lock older than five minutes is left over from a killed build.
      try {
        if (Date.now() - fs.statSync(LOCK).mtimeMs > 300_000) fs.rmdirSync(LOCK);
      } catch {}
      sleep(200);
    }
  }
}

if (stale()) {
  lock();
  try {
    if (stale()) {
      const started = Date.now();
      process.stderr.write("tessera: compiling src/ to dist/ (once, until a source changes)\n");
      const startedAt = new Date();
      const tsc = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
      const result = spawnSync(process.execPath, [tsc, "-p", path.join(ROOT, "tsconfig.build.json")], { stdio: "inherit" });
      if (result.status !== 0) process.exit(result.status ?? 1);
      // The stamp takes the time the compile started: a source saved during it is compiled next time.
      fs.writeFileSync(STAMP, "");
      fs.utimesSync(STAMP, startedAt, startedAt);
      process.stderr.write(`tessera: compiled in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    }
  } finally {
    fs.rmdirSync(LOCK);
  }
}
