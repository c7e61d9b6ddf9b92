// The node flags that let a child process run src/*.ts (the CLI, the server), for tests that
// start tessera as a real process.
//
// Under tap: the TypeScript loader of this test process (tap's, from process.execArgv). tap
// records a child's coverage as it does the test's own, but maps it to source lines only when the
// child compiled the way the test process did: tsx writes whitespace-minified code (a whole file
// on a handful of lines), and coverage from it collapses to one statement per file, which reads
// as 100% whatever ran. Outside tap (a script, a debugger): tsx.
const TAP_TS_LOADER = process.execArgv.filter((arg) => arg.startsWith("--import=") && arg.includes("/@tapjs/typescript/"));

/** `--import` flags for `node` (absolute, so they also work from a directory without node_modules). */
export const TS_LOADER_ARGS: string[] = TAP_TS_LOADER.length > 0 ? TAP_TS_LOADER : ["--import", import.meta.resolve("tsx")];

/**
 * The loader's settings from this process's environment (tap's ts-node reads TS_NODE_*; without
 * TS_NODE_TRANSPILE_ONLY it would type-check every child): for children given a whole environment.
 */
export const TS_LOADER_ENV: Record<string, string> = Object.fromEntries(
  Object.entries(process.env).filter((entry): entry is [string, string] => entry[0].startsWith("TS_NODE_") && entry[1] !== undefined),
);
