// Passwords come from stdin (--password-stdin) or an interactive prompt, never from argv, where
// every user of the machine could read them in the process list.
import readline from "node:readline";
import { Writable } from "node:stream";
import { ValidationError } from "../errors/internal.js";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // One trailing newline belongs to `echo`, not to the password.
  return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
}

async function prompt(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk, _enc, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = readline.createInterface({ input: process.stdin, output, terminal: true });
  try {
    const answer = new Promise<string>((resolve) => rl.question(question, resolve));
    muted = true; // the question is out; what the user types is not echoed
    return await answer;
  } finally {
    rl.close();
    process.stderr.write("\n");
  }
}

export async function readPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin) return readStdin();
  if (!process.stdin.isTTY) throw new ValidationError("password: use --password-stdin when stdin is not a terminal");
  const first = await prompt("Password: ");
  const again = await prompt("Repeat password: ");
  if (first !== again) throw new ValidationError("password: the two entries differ");
  return first;
}
