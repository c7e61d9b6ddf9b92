// npm run readme-check: runs README.md's walk-through as a new user would paste it, against a fresh
// server, and fails on the first command that fails, naming its line in README.md.
//
// The walk-through is every ```sh block between the "readme-check: begin" and "readme-check: end"
// comments of README.md. The blocks run in order in one bash session (set -euo pipefail; curl fails
// on an HTTP error status) in a temporary directory that stands for a fresh checkout: package.json,
// node_modules, scripts and dist are linked from here, and the server (`npm start`) creates its
// database and KEK there on its defaults, as on a first start. The server listens on a free port;
// the README's http://127.0.0.1:3000 is rewritten to it. Needs the built dist (npm start builds it).
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const README = path.join(ROOT, "README.md");
const README_BASE = "http://127.0.0.1:3000";
const LINKED = ["package.json", "node_modules", "scripts", "dist"];
const READY_TIMEOUT_MS = 120_000;
const SESSION_TIMEOUT_MS = 600_000;

/** The ```sh blocks between the markers, each with the README line of its first command. */
export function walkThroughBlocks(markdown) {
  const lines = markdown.split("\n");
  const begin = lines.findIndex((l) => l.includes("<!-- readme-check: begin"));
  const end = lines.findIndex((l) => l.includes("<!-- readme-check: end"));
  if (begin < 0 || end < begin) throw new Error('README.md has no "<!-- readme-check: begin" … "<!-- readme-check: end -->" markers');
  const blocks = [];
  let fence = null; // the open fence's language and lines
  for (let i = begin + 1; i < end; i++) {
    const line = lines[i];
    if (fence === null) {
      const open = /^```(\S*)\s*$/.exec(line);
      if (open) fence = { lang: open[1], firstLine: i + 2, lines: [] };
    } else if (/^```\s*$/.test(line)) {
      if (fence.lang === "sh" || fence.lang === "bash") blocks.push({ firstLine: fence.firstLine, text: fence.lines.join("\n") });
      fence = null;
    } else {
      fence.lines.push(line);
    }
  }
  if (fence !== null) throw new Error(`README.md: the code block opened at line ${fence.firstLine - 1} is not closed before "readme-check: end"`);
  if (blocks.length === 0) throw new Error("README.md: no ```sh block in the walk-through");
  return blocks;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilReady(base, server) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`the server exited (${server.exitCode}) before it was ready`);
    try {
      if ((await fetch(`${base}/readyz`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the server was not ready within ${READY_TIMEOUT_MS / 1000} s`);
}

/** The generated session script, and for each of its lines the README line it came from. */
function sessionScript(blocks, base, dir) {
  const out = [
    "set -euo pipefail",
    // An HTTP error status fails the command (the README's curl -s would go on with the error's body);
    // a newline after each answer keeps the log readable ($(…) drops it).
    `curl() { command curl --fail-with-body --show-error --write-out '\\n' "$@"; }`,
    `trap 'echo "$LINENO" > ${JSON.stringify(path.join(dir, ".failed-line"))}' ERR`,
  ];
  const origin = out.map(() => null);
  blocks.forEach((block, n) => {
    const shown = path.join(dir, `.block-${n}.txt`);
    fs.writeFileSync(shown, `\n--- README.md line ${block.firstLine}\n${block.text}\n---\n`);
    out.push(`cat ${JSON.stringify(shown)}`);
    origin.push(null);
    block.text.split("\n").forEach((line, i) => {
      out.push(line.replaceAll(README_BASE, base));
      origin.push(block.firstLine + i);
    });
  });
  return { script: `${out.join("\n")}\n`, origin };
}

/** The README lines of the command at `line`: with its backslash-continued lines. */
function commandAt(readmeLines, line) {
  let first = line;
  while (first > 1 && /\\$/.test(readmeLines[first - 2])) first--;
  let last = line;
  while (/\\$/.test(readmeLines[last - 1]) && last < readmeLines.length) last++;
  return readmeLines.slice(first - 1, last).map((l, i) => `  ${first + i}: ${l}`).join("\n");
}

async function main() {
  if (spawnSync("jq", ["--version"], { stdio: "ignore" }).status !== 0) {
    throw new Error("the walk-through needs jq: apt-get install -y jq");
  }
  if (!fs.existsSync(path.join(ROOT, "dist", "server.js"))) throw new Error("no dist/server.js: run npm run build (or npm start) first");
  const markdown = fs.readFileSync(README, "utf8");
  const blocks = walkThroughBlocks(markdown);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tessera-readme-"));
  for (const name of LINKED) fs.symlinkSync(path.join(ROOT, name), path.join(dir, name));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // A fresh clone's environment: the defaults, so the server makes ./data/tessera.db and keys/kek in dir.
  const env = { ...process.env, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "warn" };
  for (const name of ["DATABASE_URL", "TESSERA_ISSUER", "TESSERA_KEK", "TESSERA_KEK_FILE", "CORS_ORIGINS"]) delete env[name];

  let serverLog = "";
  const server = spawn("npm", ["start"], { cwd: dir, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  server.stdout.on("data", (d) => (serverLog += d));
  server.stderr.on("data", (d) => (serverLog += d));
  const serverExited = new Promise((resolve) => server.once("exit", resolve));
  const stopServer = async () => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    process.kill(-server.pid, "SIGTERM"); // the process group started above: npm and the server
    const timer = setTimeout(() => process.kill(-server.pid, "SIGKILL"), 20_000);
    await serverExited;
    clearTimeout(timer);
  };

  let failed = true;
  try {
    await waitUntilReady(base, server);
    process.stdout.write(`readme-check: server at ${base}, working directory ${dir}\n`);
    const { script, origin } = sessionScript(blocks, base, dir);
    const scriptFile = path.join(dir, ".walk-through.sh");
    fs.writeFileSync(scriptFile, script);
    const { PORT: _port, HOST: _host, ...shellEnv } = env; // the user's shell has neither
    const session = spawn("bash", [scriptFile], { cwd: dir, env: shellEnv, stdio: ["ignore", "inherit", "inherit"] });
    const timer = setTimeout(() => session.kill("SIGKILL"), SESSION_TIMEOUT_MS);
    const code = await new Promise((resolve) => session.once("exit", (c, s) => resolve(c ?? s)));
    clearTimeout(timer);
    if (code !== 0) {
      const failedAt = fs.existsSync(path.join(dir, ".failed-line")) ? Number(fs.readFileSync(path.join(dir, ".failed-line"), "utf8")) : NaN;
      const readmeLine = origin[failedAt - 1];
      const where = readmeLine ? `README.md line ${readmeLine}:\n${commandAt(markdown.split("\n"), readmeLine)}` : "(no line known)";
      throw new Error(`the walk-through failed (exit ${code}) at ${where}`);
    }
    failed = false;
    process.stdout.write(`\nreadme-check: ${blocks.length} blocks of the walk-through ran\n`);
  } finally {
    await stopServer();
    if (failed) process.stderr.write(`\nreadme-check: server log:\n${serverLog}\nreadme-check: files kept in ${dir}\n`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) {
  main().catch((error) => {
    process.stderr.write(`readme-check: ${error.message}\n`);
    process.exit(1);
  });
}
