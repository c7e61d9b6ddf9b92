// The environment for a child process that runs tessera's TypeScript through tsx: without tap's
// coverage hook. tap measures coverage on its own transpile of src/; a tsx child's coverage of the
// same files, merged in, lands on the wrong lines (whole import blocks marked uncovered). Code that
// only runs in such children (src/cli, src/server.ts) is therefore not measured.
export function withoutCoverage(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) if (!key.startsWith("_TAPJS_PROCESSINFO")) out[key] = value;
  const options = (env.NODE_OPTIONS ?? "")
    .split(/\s+/)
    .filter((option) => option !== "" && !option.includes("@tapjs/processinfo"))
    .join(" ");
  if (options) out.NODE_OPTIONS = options;
  else delete out.NODE_OPTIONS;
  return out;
}
