// Real tessera server processes (`node <TypeScript loader> src/server.ts`, or the CLI's `tessera
// serve`), for multi-instance tests: each on its own port, waited for through /readyz, stopped with
// SIGTERM in teardown.
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { TS_LOADER_ARGS } from "./ts-loader.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

type Teardown = { teardown(fn: () => unknown): void };

export type ServerProcess = {
  /** http://127.0.0.1:PORT */
  url: string;
  child: ChildProcess;
  /** What the process wrote to stdout and stderr so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
};

/** A port that was free a moment ago (the OS picks it; closed again before the server binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** How a server process starts: as `npm start` does (src/server.ts), or as the CLI's `tessera serve`. */
const ENTRY = { server: ["src/server.ts"], "tessera serve": ["src/cli/index.ts", "serve"] };

/**
 * Starts the server with `env` on top of this process's environment (HOST, PORT and LOG_LEVEL are set
 * here) and resolves once /readyz answers 200. Rejects with the process's output if it exits first or
 * is not ready within `readyTimeoutMs` (the loader compiles on start; busy machines are slow).
 */
export async function startServer(t: Teardown, env: Record<string, string>, readyTimeoutMs = 90_000, entry: keyof typeof ENTRY = "server"): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [...TS_LOADER_ARGS, ...ENTRY[entry]], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "warn", ...env, HOST: "127.0.0.1", PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const stop = async () => {
    if (exited(child)) return;
    child.kill("SIGTERM");
    if (!(await waitForExit(child, 10_000))) {
      child.kill("SIGKILL");
      await waitForExit(child, 5_000);
    }
  };
  t.teardown(stop);

  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exited(child)) throw new Error(`tessera on port ${port} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`tessera on port ${port} was not ready within ${readyTimeoutMs} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url, child, output: () => output, stop };
}

/**
 * Polls `probe` every `intervalMs` until it returns a value other than undefined, or until
 * `timeoutMs` has passed (then undefined). For convergence between processes, not for timing.
 */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 100): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export type TesseraProcess = {
  child: ChildProcess;
  /** stdout and stderr so far */
  output(): string;
  /** Resolves with the first match of `pattern` in the output; rejects if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

/**
 * Spawns `command args` (e.g. node with tsx and an entry file, or npm start) with exactly `env`,
 * killed in teardown if still running. For tests of how the process itself starts and stops.
 */
const isGone = (child: ChildProcess) => exited(child);

export function spawnTessera(t: Teardown, command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): TesseraProcess {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk;
    for (const listener of listeners) listener();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      for (const listener of listeners) listener();
      resolve({ code, signal });
    });
  });
  t.teardown(async () => {
    if (isGone(child)) return;
    child.kill("SIGKILL");
    await exit;
  });
  const waitFor = (pattern: RegExp, timeoutMs = 120_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(output);
        if (match) return done(() => resolve(match));
        if (isGone(child)) done(() => reject(new Error(`exited (${child.exitCode ?? child.signalCode}) before ${pattern}:\n${output}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${output}`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        listeners.delete(check);
        settle();
      };
      listeners.add(check);
      check();
    });
  return { child, output: () => output, waitFor, exited: exit };
}

