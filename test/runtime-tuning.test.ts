// captureTickObject hands over one of Node's process.nextTick objects; held, it keeps tick objects on one
// hidden class across full garbage collections (src/runtime-tuning.ts says why that is worth 15-20% of a
// JWKS answer). The second test checks that premise in a child process where V8's %HaveSameMap is usable.
import { execFileSync } from "node:child_process";
import t from "tap";
import { captureTickObject } from "../src/runtime-tuning.js";

t.test("the object captured is one of Node's tick objects", async (t) => {
  const tickObject = captureTickObject() as { callback?: unknown } | undefined;
  t.type(tickObject?.callback, "function");
});

t.test("after full garbage collections, new tick objects still have the held object's map", async (t) => {
  const child = `(async () => {
    const { captureTickObject } = await import(${JSON.stringify(new URL("../src/runtime-tuning.ts", import.meta.url).href)});
    const pinned = captureTickObject();
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 3; i++) { await turn(); gc(); }
    const later = captureTickObject();
    console.log(JSON.stringify({ sameMap: %HaveSameMap(pinned, later), plainObjectSameMap: %HaveSameMap(pinned, { callback() {} }) }));
  })();`;
  const out = execFileSync(process.execPath, ["--allow-natives-syntax", "--expose-gc", "--import", "tsx", "-e", child], { encoding: "utf8" });
  const result = JSON.parse(out) as { sameMap: boolean; plainObjectSameMap: boolean };
  t.equal(result.sameMap, true, "tick objects made after the collections share the held object's map");
  t.equal(result.plainObjectSameMap, false, "%HaveSameMap tells maps apart (a plain object with a callback is not a tick object)");
});
