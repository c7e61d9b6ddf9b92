// The server process itself, as an operator starts and stops it: real processes through a symlinked
// path and a directory with a space, PORT=0, what a first start logs, graceful close with connections
// in every state, SHUTDOWN_TIMEOUT, `npm start` and its SIGTERM, and one-line start-up failures.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import t from "tap";
import { describeStartFailure } from "../src/errors/start-failure.js";
import { applyMigrations } from "../src/storage/migrate.js";
import { freshDatabaseUrl, TEST_PROVIDER } from "./helpers/database.js";
import { freePort, spawnTessera, type TesseraProcess } from "./helpers/server-process.js";
import { TS_LOADER_ARGS } from "./helpers/ts-loader.js";

// Several real processes, each compiling tessera on start (and one `npm start` that may compile dist/).
t.setTimeout(600_000);

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const { NODE_OPTIONS: _instrumentation, TESSERA_ISSUER: _issuer, ...parentEnv } = process.env;

const tmpDir = (prefix: string) => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
};

async function baseEnv(extra: Record<string, string> = {}): Promise<NodeJS.ProcessEnv> {
  return {
    ...parentEnv,
    DATABASE_URL: await freshDatabaseUrl(t),
    TESSERA_KEK: randomBytes(32).toString("base64"),
    TESSERA_KEK_FILE: path.join(os.tmpdir(), "tessera-server-test-unused-kek"),
    HOST: "127.0.0.1",
    PORT: "0",
    LOG_LEVEL: "info",
    ...extra,
  };
}

/** `node <TypeScript loader> ENTRY` from `cwd`. */
const tessera = (entry: string, cwd: string, env: NodeJS.ProcessEnv): TesseraProcess =>
  spawnTessera(t, process.execPath, [...TS_LOADER_ARGS, entry], { cwd, env });

const SERVING = /tessera is serving on ([\d.]+):(\d+)/;

type Answer = { status: number; headers: Record<string, string>; body: string };

/** Reads one HTTP/1.1 answer off a raw socket that the server closes after it (Connection: close). */
function readAnswer(socket: net.Socket): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let raw = "";
    socket.on("data", (chunk) => (raw += chunk));
    socket.once("error", reject);
    socket.once("close", () => {
      const [head = "", body = ""] = raw.split("\r\n\r\n");
      const [statusLine = "", ...lines] = head.split("\r\n");
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
      // status 0: the connection closed without an answer
      resolve({ status: raw === "" ? 0 : Number(statusLine.split(" ")[1]), headers, body });
    });
  });
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Writes a whole request on a kept-alive socket and reads exactly one answer (with Content-Length). */
function roundTrip(socket: net.Socket, request: string): Promise<string> {
  return new Promise((resolve) => {
    let raw = "";
    const onData = (chunk: Buffer) => {
      raw += chunk;
      const end = raw.indexOf("\r\n\r\n");
      const length = /content-length: (\d+)/i.exec(raw);
      if (end >= 0 && length && raw.length >= end + 4 + Number(length[1])) {
        socket.off("data", onData);
        resolve(raw);
      }
    };
    socket.on("data", onData);
    socket.write(request);
  });
}

async function metadataIssuer(port: number, host = "127.0.0.1"): Promise<string> {
  const res = await fetch(`http://${host}:${port}/.well-known/oauth-authorization-server`);
  return ((await res.json()) as { issuer: string }).issuer;
}

t.test("started through a symlinked path it listens; PORT=0 names the bound port; the first start says what it made", async (t) => {
  // The usual deploy layout: /srv/app/current -> releases/N. The entry check once compared
  // import.meta.url (the real path) with argv[1] (the link) and exited 0 without listening.
  const dir = tmpDir("tessera-symlink-");
  fs.symlinkSync(ROOT, path.join(dir, "current"));
  const kekFile = path.join(dir, "kek");
  const env = await baseEnv({ TESSERA_KEK: "", TESSERA_KEK_FILE: kekFile });
  const server = tessera(path.join(dir, "current", "src", "server.ts"), ROOT, env);
  const [, host, port] = await server.waitFor(SERVING);
  t.equal(host, "127.0.0.1");
  t.not(port, "0", "the port actually bound");
  t.equal(await metadataIssuer(Number(port)), `http://127.0.0.1:${port}`, "the derived issuer names the bound port");

  const output = server.output();
  t.match(output, `created the key-encryption key file ${kekFile} (mode 0600)`);
  const location = TEST_PROVIDER === "sqlite" ? `SQLite ${env.DATABASE_URL!.slice("file:".length)}` : `PostgreSQL 127.0.0.1:5432/`;
  t.match(output, new RegExp(`applied \\d+ migration\\(s\\) to ${location.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`));
  t.match(output, /created signing key [\w-]{43} \(RS256\)/);
  t.notOk(output.includes(fs.readFileSync(kekFile, "utf8").trim()), "the KEK itself is not logged");
  t.notMatch(output, /TESSERA_ISSUER is not set/, "no warning on a loopback HOST");

  server.child.kill("SIGTERM");
  t.same(await server.exited, { code: 0, signal: null });
});

t.test("started from a directory whose name has a space it listens; a derived issuer on HOST=0.0.0.0 warns", async (t) => {
  const dir = path.join(tmpDir("tessera-space-"), "with space");
  for (const name of ["src", "prisma"]) fs.cpSync(path.join(ROOT, name), path.join(dir, name), { recursive: true });
  for (const name of ["package.json", "tsconfig.json"]) fs.copyFileSync(path.join(ROOT, name), path.join(dir, name));
  fs.symlinkSync(fs.realpathSync(path.join(ROOT, "node_modules")), path.join(dir, "node_modules"));
  const server = tessera(path.join(dir, "src", "server.ts"), dir, await baseEnv({ HOST: "0.0.0.0" }));
  const [, host, port] = await server.waitFor(SERVING);
  t.equal(host, "0.0.0.0");
  t.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
  t.match(server.output(), /"level":40,.*"issuer":"http:\/\/0\.0\.0\.0:\d+".*TESSERA_ISSUER is not set: the issuer is derived from HOST and PORT/);
  server.child.kill("SIGTERM");
  t.same(await server.exited, { code: 0, signal: null });
});

t.test("the address it serves on, IPv6 in brackets; the issuer warning only for a derived issuer on a non-loopback HOST", async (t) => {
  // The warning is asserted on this repository's src/server.ts too: the test above runs a copy.
  const cases: Array<{ name: string; env: Record<string, string>; serving: RegExp; issuer: (port: string) => string; warns: boolean; at?: string }> = [
    { name: "HOST=::1", env: { HOST: "::1" }, at: "[::1]", serving: /tessera is serving on \[::1\]:(\d+)/, issuer: (port: string) => `http://[::1]:${port}`, warns: false },
    { name: "HOST=0.0.0.0", env: { HOST: "0.0.0.0" }, serving: /tessera is serving on 0\.0\.0\.0:(\d+)/, issuer: (port: string) => `http://0.0.0.0:${port}`, warns: true },
    { name: "HOST=0.0.0.0 with TESSERA_ISSUER", env: { HOST: "0.0.0.0", TESSERA_ISSUER: "https://auth.example.test" }, serving: /tessera is serving on 0\.0\.0\.0:(\d+)/, issuer: () => "https://auth.example.test", warns: false },
  ];
  // One at a time: three processes compiling TypeScript at once starve the other test files of the
  // pass (the PostgreSQL race test in test/interop waits on row locks against a 10 s query timeout).
  for (const c of cases) {
    const server = tessera("src/server.ts", ROOT, await baseEnv(c.env));
    const [, port] = await server.waitFor(c.serving);
    t.equal(await metadataIssuer(Number(port), c.at), c.issuer(port!), `${c.name}: the issuer`);
    t.equal(/TESSERA_ISSUER is not set/.test(server.output()), c.warns, `${c.name}: ${c.warns ? "warns" : "no warning"}`);
    server.child.kill("SIGTERM");
    t.same(await server.exited, { code: 0, signal: null }, `${c.name}: closes`);
  }
});

t.test("SIGTERM: idle connections close, requests received are answered, requests arriving get an OAuth 503, exit 0", async (t) => {
  const server = tessera("src/server.ts", ROOT, await baseEnv());
  const port = Number((await server.waitFor(SERVING))[2]);

  // idle: one answered request, then nothing
  const idle = await connect(port);
  t.match(await roundTrip(idle, "GET /healthz HTTP/1.1\r\nHost: tessera.test\r\n\r\n"), /^HTTP\/1\.1 200 /);
  // in flight: received (headers and half the body) before the signal
  const body = "grant_type=client_credentials";
  const inFlight = await connect(port);
  inFlight.write(
    "POST /token HTTP/1.1\r\nHost: tessera.test\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
      `Authorization: Basic ${Buffer.from("nobody:wrong").toString("base64")}\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
  );
  // arriving: a request whose headers are not complete when the close begins
  const arriving = await connect(port);
  arriving.write("GET /healthz HTTP/1.1\r\nHost: tessera.test\r\n");
  // A round trip after both writes: the server has read them before it sees the signal.
  t.match(await roundTrip(idle, "GET /healthz HTTP/1.1\r\nHost: tessera.test\r\n\r\n"), /^HTTP\/1\.1 200 /);

  const idleAnswer = readAnswer(idle);
  const inFlightAnswer = readAnswer(inFlight);
  const arrivingAnswer = readAnswer(arriving);
  server.child.kill("SIGTERM");
  await server.waitFor(/closing: answering the requests already received/);

  const closedIdle = await idleAnswer;
  t.equal(closedIdle.status, 0, "the idle connection is closed without an answer");

  arriving.write("\r\n");
  const unavailable = await arrivingAnswer;
  t.equal(unavailable.status, 503);
  t.same(JSON.parse(unavailable.body), { error: "temporarily_unavailable", error_description: "the server is shutting down; retry shortly" });
  t.equal(unavailable.headers["cache-control"], "no-store");
  t.equal(unavailable.headers["retry-after"], "1");
  t.equal(unavailable.headers.connection, "close");
  t.equal(unavailable.headers["x-content-type-options"], "nosniff", "the security headers");
  t.equal(unavailable.headers["content-type"], "application/json; charset=utf-8");

  inFlight.write(body.slice(10));
  const answered = await inFlightAnswer;
  t.equal(answered.status, 401, "the request received before the close is answered by its route");
  t.equal((JSON.parse(answered.body) as { error: string }).error, "invalid_client");
  t.equal(answered.headers.connection, "close", "and its connection ends with it");

  t.same(await server.exited, { code: 0, signal: null });
  t.match(server.output(), /"msg":"closed"/);
});

t.test("SHUTDOWN_TIMEOUT bounds the wait for a request that never completes", async (t) => {
  const server = tessera("src/server.ts", ROOT, await baseEnv({ SHUTDOWN_TIMEOUT: "1" }));
  const port = Number((await server.waitFor(SERVING))[2]);
  const stuck = await connect(port);
  stuck.write("POST /token HTTP/1.1\r\nHost: tessera.test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant");
  const answer = readAnswer(stuck);
  t.match(await roundTrip(await connect(port), "GET /healthz HTTP/1.1\r\nHost: tessera.test\r\nConnection: close\r\n\r\n"), /^HTTP\/1\.1 200 /);
  server.child.kill("SIGTERM");
  t.same(await server.exited, { code: 1, signal: null });
  t.equal((await answer).status, 0, "the stuck connection was cut");
  t.match(server.output(), /requests still open after SHUTDOWN_TIMEOUT; closing their connections/);
});

t.test("npm start: compiled once, node is npm's direct child, SIGTERM to npm stops the server gracefully", async (t) => {
  // Compiles dist/ if a source is newer (as `npm start` itself would), outside the measured start.
  const build = spawnSync(process.execPath, ["scripts/build-if-stale.mjs"], { cwd: ROOT, encoding: "utf8" });
  t.equal(build.status, 0, build.stderr);
  const npm = spawnTessera(t, "npm", ["start"], { cwd: ROOT, env: await baseEnv() });
  const port = Number((await npm.waitFor(SERVING))[2]);
  t.notMatch(npm.output(), /compiling/, "nothing compiled on this start");
  const pid = Number((await npm.waitFor(/"pid":(\d+)/))[1]);
  t.not(pid, npm.child.pid, "the server is its own process");
  const parent = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1];
  t.equal(Number(parent), npm.child.pid, "node is npm's direct child, with no shell between to swallow the signal");
  t.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);

  npm.child.kill("SIGTERM");
  await npm.exited;
  await npm.waitFor(/"msg":"closed"/, 30_000);
  t.throws(() => process.kill(pid, 0), { code: "ESRCH" }, "no server left running");
});

t.test("start-up failures are one line naming the cause and the setting, exit 1", async (t) => {
  t.test("TRUST_PROXY=maybe (a real process)", async (t) => {
    const server = tessera("src/server.ts", ROOT, await baseEnv({ TRUST_PROXY: "maybe" }));
    t.same(await server.exited, { code: 1, signal: null });
    t.equal(
      server.output(),
      "tessera: invalid configuration\n  TRUST_PROXY: must be off, on, or a comma-separated list of proxy addresses or CIDRs " +
        '(or loopback, linklocal, uniquelocal) (got "maybe")\n',
    );
  });

  t.test("a port in use (a real process)", async (t) => {
    const port = await freePort();
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(port, "127.0.0.1", resolve));
    t.teardown(() => new Promise((resolve) => holder.close(resolve)));
    const server = tessera("src/server.ts", ROOT, await baseEnv({ PORT: String(port), LOG_LEVEL: "warn" }));
    t.same(await server.exited, { code: 1, signal: null });
    t.equal(server.output(), `tessera: cannot listen on 127.0.0.1:${port}: the port is in use (PORT, HOST)\n`);
  });

  const config = { host: "127.0.0.1", port: 3000 };
  const failure = async (url: string) => {
    try {
      await applyMigrations(url);
    } catch (error) {
      return describeStartFailure(error, { ...config, databaseUrl: url });
    }
    throw new Error("no failure");
  };

  // On the PostgreSQL server of the PostgreSQL pass (the SQLite pass may run before one is started).
  t.test("a PostgreSQL database that does not exist", { skip: TEST_PROVIDER !== "postgresql" && "run by the PostgreSQL pass" }, async (t) => {
    const name = `tessera_missing_${randomBytes(4).toString("hex")}`;
    const url = new URL(process.env.DATABASE_URL!);
    url.pathname = `/${name}`;
    t.equal(
      await failure(url.toString()),
      `database "${name}" does not exist on the PostgreSQL server (DATABASE_URL); create it first (createdb)`,
    );
  });

  t.test("an unreachable PostgreSQL", async (t) => {
    const port = await freePort(); // nothing listens there
    t.equal(await failure(`postgresql://postgres:hunter2@127.0.0.1:${port}/tessera`), `cannot reach PostgreSQL at 127.0.0.1:${port} (ECONNREFUSED) (DATABASE_URL)`);
  });

  t.test("a bug is no start-up failure: its stack trace is printed", async (t) => {
    t.equal(describeStartFailure(new TypeError("x is undefined"), { ...config, databaseUrl: "file:x.db" }), undefined);
  });
});

t.test("a start-up failure with no one-line description (a SQLite path under a file): the error and its stack, exit 1", async (t) => {
  const file = path.join(tmpDir("tessera-not-a-dir-"), "file");
  fs.writeFileSync(file, "");
  // PORT=0 with a derived issuer: the port held for the issuer is let go when building the app fails.
  const server = tessera("src/server.ts", ROOT, { ...(await baseEnv()), DATABASE_URL: `file:${path.join(file, "tessera.db")}` });
  t.same(await server.exited, { code: 1, signal: null });
  t.match(server.output(), new RegExp(`^Error: EEXIST: file already exists, mkdir '${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}'\\n\\s+at `));
});

t.test("imported by a program that has no file of its own (node -, node -e), src/server.ts starts nothing", async (t) => {
  const program = `import(${JSON.stringify(pathToFileURL(path.join(ROOT, "src", "server.ts")).href)}).then((m) => console.log(typeof m.listen))`;
  // `node -` has argv[1] "-", which is no file; `node -e` has no argv[1] at all.
  for (const args of [["-"], ["-e", program]]) {
    const run = spawnSync(process.execPath, [...TS_LOADER_ARGS, ...args], { cwd: ROOT, input: program, encoding: "utf8", env: await baseEnv(), timeout: 60_000 });
    t.equal(run.status, 0, `node ${args[0]}: ${run.stderr}`);
    t.equal(run.stdout, "function\n", `node ${args[0]}: the module loaded, and the program ended: nothing listens`);
    t.equal(run.stderr, "", `node ${args[0]}: nothing on stderr`);
  }
});
