// Process-wide V8 tuning for the server, applied once by serve() before it builds the app. Each setting
// was measured with bench/ (figures below); none changes what tessera answers.
import { createHook } from "node:async_hooks";
import { setFlagsFromString } from "node:v8";

/** One of Node's process.nextTick objects, held for the life of the process (see captureTickObject). */
let pinnedTickObject: object | undefined;

export function tuneRuntime(): void {
  // Memory, not speed (bench/run.mjs measured both). Prisma's query compiler is WebAssembly that runs
  // once per query shape (plans are cached), yet V8 would recompile all 4 MiB of it with its optimising
  // tier in the background: ~65 MiB of resident memory. Its baseline tier is enough. And V8 grows its
  // young generation under load up to 2 x 16 MiB, ~15 MiB more resident for no measurable gain on
  // requests whose garbage dies young. Set before Prisma loads.
  setFlagsFromString("--liftoff-only");
  setFlagsFromString("--semi-space-growth-factor=1");
  pinnedTickObject = captureTickObject();
}

/**
 * Every HTTP request makes 3-4 process.nextTick calls inside Node's streams, and each one builds an
 * object literal with symbol keys. V8 builds those objects inline only while the call site has seen a
 * single hidden class (map) chain. The maps are held weakly: a full garbage collection that runs while
 * no tick object is alive frees them, the next tick objects get new maps, and the call site turns
 * megamorphic for good. From then on every tick object is built in V8's runtime
 * (Runtime_DefineKeyedOwnPropertyInLiteral and JSObject::MigrateToMap in perf, under nextTick): ~4-6 µs
 * more CPU per request, 15-20% of a JWKS answer, in about half of the server processes (by chance: it
 * depends on when the collections run). Holding one tick object keeps its maps alive. async_hooks is
 * the only way to reach one; the hook is enabled for this single call.
 *
 * Returns the tick object of one process.nextTick call, or undefined if Node no longer reports tick
 * objects to async_hooks.
 */
export function captureTickObject(): object | undefined {
  let tickObject: object | undefined;
  const hook = createHook({
    init(_asyncId, type, _triggerAsyncId, resource) {
      if (type === "TickObject") tickObject = resource;
    },
  }).enable();
  process.nextTick(() => {});
  hook.disable();
  return tickObject;
}
