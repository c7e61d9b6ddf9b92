// `tessera users create|set-password` without --password-stdin, at a real terminal: the CLI runs in
// a pseudo-terminal made by util-linux `script`, and the test types at the prompts as a person would.
// What is typed is not echoed, the two entries must agree, and the password set is the one typed
// (checked by signing in through an app on the same database).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";
import { basic, buildTestApp, form } from "../helpers/app.js";
import { SettableClock } from "../helpers/clock.js";
import { freshDatabaseUrl } from "../helpers/database.js";
import { TS_LOADER_ARGS } from "../helpers/ts-loader.js";

// A few real processes, each compiling the CLI on start.
t.setTimeout(300_000);

const ENTRY = fileURLToPath(new URL("../../src/cli/index.ts", import.meta.url));
const url = await freshDatabaseUrl(t);
const { app, createClient } = await buildTestApp(t, { DATABASE_URL: url }, new SettableClock(Date.now()));
const web = await createClient({ firstParty: true, grantTypes: ["password"] });

type TerminalRun = { code: number | null; screen: string };

const quote = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`;

/** Runs `tessera users …args` at a pseudo-terminal and types each of `answers` once its prompt is on screen. */
function atTerminal(args: string[], answers: Array<[prompt: string, typed: string]>): Promise<TerminalRun> {
  const command = [process.execPath, ...TS_LOADER_ARGS, ENTRY, "users", ...args].map(quote).join(" ");
  // -e: script exits with the command's code; -f: output is passed on as it comes; /dev/null: no typescript file.
  const child = spawn("script", ["-qefc", command, "/dev/null"], {
    env: {
      ...process.env,
      DATABASE_URL: url,
      TESSERA_KEK: randomBytes(32).toString("base64"),
      TESSERA_KEK_FILE: path.join(os.tmpdir(), "tessera-unused-kek"),
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let screen = "";
  let next = 0;
  let from = 0; // where on the screen the next prompt is looked for
  const onOutput = (chunk: Buffer) => {
    screen += chunk;
    // Type only once the prompt is out: before it, the terminal would still echo the keys.
    for (let at: number; next < answers.length && (at = screen.indexOf(answers[next]![0], from)) !== -1; next++) {
      child.stdin.write(`${answers[next]![1]}\r`);
      from = at + answers[next]![0].length;
    }
  };
  child.stdout.on("data", onOutput);
  child.stderr.on("data", onOutput);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, screen }));
  });
}

const passwordGrant = (username: string, password: string) =>
  app.inject({
    method: "POST",
    url: "/token",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(web.clientId, web.clientSecret) },
    payload: form({ grant_type: "password", username, password }),
  });

t.test("create asks twice without echoing, and the password typed is the one set", async (t) => {
  const run = await atTerminal(["create", "--username", "carol"], [["Password: ", "typed-password-1"], ["Repeat password: ", "typed-password-1"]]);
  t.equal(run.code, 0, run.screen);
  t.match(run.screen, /Password: [^]*Repeat password: [^]*\nusername: carol\r?\n/);
  t.notOk(run.screen.includes("typed-password-1"), "what was typed is not on the screen");
  t.equal((await passwordGrant("carol", "typed-password-1")).statusCode, 200);
});

t.test("two different entries: refused with exit 1, and the password is not changed", async (t) => {
  const run = await atTerminal(["set-password", "--username", "carol"], [["Password: ", "new-password-2"], ["Repeat password: ", "new-password-3"]]);
  t.equal(run.code, 1, run.screen);
  t.match(run.screen, /\ntessera: password: the two entries differ\r?\n$/);
  t.notOk(run.screen.includes("new-password-"), "what was typed is not on the screen");
  t.equal((await passwordGrant("carol", "typed-password-1")).statusCode, 200, "the old password still works");
  const refused = await passwordGrant("carol", "new-password-2");
  t.equal(refused.statusCode, 400);
  t.equal(refused.json().error, "invalid_grant");
});
