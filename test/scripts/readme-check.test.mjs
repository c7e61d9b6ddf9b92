// The README walk-through's extraction (scripts/readme-check.mjs), and a static check that runs
// without a server: every shell variable the walk-through reads is set by an earlier command.
import fs from "node:fs";
import t from "tap";
import { walkThroughBlocks } from "../../scripts/readme-check.mjs";

const README = fs.readFileSync(new URL("../../README.md", import.meta.url), "utf8");

t.test("only the sh blocks between the markers are taken, with their README lines", async (t) => {
  const markdown = [
    "```sh", "before", "```", // line 1-3: before the marker
    "<!-- readme-check: begin -->",
    "```sh", "echo one", "```",
    "```json", '{"not": "run"}', "```",
    "```sh", "A=1", "echo $A", "```",
    "<!-- readme-check: end -->",
    "```sh", "after", "```",
  ].join("\n");
  t.same(walkThroughBlocks(markdown), [
    { firstLine: 6, text: "echo one" },
    { firstLine: 12, text: "A=1\necho $A" },
  ]);
  t.throws(() => walkThroughBlocks("```sh\nx\n```"), /no "<!-- readme-check: begin"/);
  t.throws(() => walkThroughBlocks("<!-- readme-check: begin -->\n```sh\nx\n<!-- readme-check: end -->"), /line 2 is not closed/);
});

t.test("every variable the README walk-through reads is set before", async (t) => {
  const blocks = walkThroughBlocks(README);
  t.ok(blocks.length >= 8, `${blocks.length} blocks`);
  const set = new Set();
  const unset = [];
  for (const { firstLine, text } of blocks) {
    // heredoc bodies (the .mjs files) are JavaScript, not shell
    const shell = text.replace(/<<'(\w+)'\n[\s\S]*?\n\1(\n|$)/g, "\n");
    for (const line of shell.split("\n")) {
      const code = line.replace(/(^|\s)#.*$/, "").replace(/'[^']*'/g, "''");
      for (const [, name] of code.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) if (!set.has(name)) unset.push(`${name} (README line ${firstLine})`);
      for (const [, name] of code.matchAll(/(?:^|[\s;(])([A-Za-z_][A-Za-z0-9_]*)=/g)) set.add(name);
      for (const [, name] of code.matchAll(/\bread\s+(?:-\w+\s+)*([A-Za-z_][A-Za-z0-9_]*)/g)) set.add(name);
    }
  }
  t.same(unset, [], "no variable is read before it is set");
  t.ok(set.has("CLIENT_ID") && set.has("RS_SECRET") && set.has("ADMIN"), "the walk-through sets its credentials");
});
