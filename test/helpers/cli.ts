// The real tessera CLI (`node <TypeScript loader> src/cli/index.ts …`) as a child process, for tests
// that run it as an operator would.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { TS_LOADER_ARGS, TS_LOADER_ENV } from "./ts-loader.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export type CliRun = { code: number | null; stdout: string; stderr: string };

export type CliOptions = {
  /** The whole environment of the process (not merged with this process's, except the TypeScript loader's settings). */
  env: NodeJS.ProcessEnv;
  /** Written to the process's stdin, which is then closed; without it stdin is left as an open pipe. */
  stdin?: string;
  /** The working directory (the repository root by default): relative DATABASE_URLs resolve against it. */
  cwd?: string;
};

const ENTRY = fileURLToPath(new URL("../../src/cli/index.ts", import.meta.url));

/** Runs `tessera …args` (from the repository root unless `cwd` says otherwise) and resolves with its exit code and output. */
export function runCli(args: string[], { env, stdin, cwd = ROOT }: CliOptions): Promise<CliRun> {
  const child = spawn(process.execPath, [...TS_LOADER_ARGS, ENTRY, ...args], { cwd, env: { ...TS_LOADER_ENV, ...env }, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
  if (stdin !== undefined) {
    child.stdin.on("error", () => {}); // a command that exits before reading stdin closes the pipe
    child.stdin.end(stdin);
  }
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
