// singleFlight(): the caches' reloads never overlap, and a reload asked for while one runs gets a
// fresh run after it (shared by everyone who asked meanwhile). Tasks here are promises the test
// settles by hand, so the order is exact.
import t from "tap";
import { singleFlight } from "../../src/domain/poller.js";

/** A task whose runs the test finishes one by one; `log` says what happened, in order. */
function manualTask() {
  const log: string[] = [];
  const finishers: Array<(error?: Error) => void> = [];
  let runs = 0;
  const task = () => {
    const run = ++runs;
    log.push(`start ${run}`);
    return new Promise<void>((resolve, reject) => {
      finishers.push((error) => {
        log.push(`end ${run}`);
        if (error) reject(error);
        else resolve();
      });
    });
  };
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  return { log, task, finish: async (error?: Error) => (finishers.shift()!(error), await tick()), tick };
}

t.test("a call during a run waits for it, then gets a run of its own that starts after it", async (t) => {
  const m = manualTask();
  const refresh = singleFlight(m.task);
  const first = refresh();
  await m.tick();
  const second = refresh();
  await m.tick();
  t.same(m.log, ["start 1"], "the second run has not started alongside the first");
  await m.finish();
  await first;
  t.same(m.log, ["start 1", "end 1", "start 2"]);
  await m.finish();
  await second;
  t.same(m.log, ["start 1", "end 1", "start 2", "end 2"]);
});

t.test("calls made while a run is waiting to start share it", async (t) => {
  const m = manualTask();
  const refresh = singleFlight(m.task);
  const first = refresh();
  await m.tick();
  const waiting = [refresh(), refresh(), refresh()];
  t.equal(waiting[0], waiting[2], "one promise for the three");
  await m.finish();
  await m.finish();
  await Promise.all([first, ...waiting]);
  t.same(m.log, ["start 1", "end 1", "start 2", "end 2"]);
});

t.test("a failed run rejects its callers only; the next call runs again", async (t) => {
  const m = manualTask();
  const refresh = singleFlight(m.task);
  const failing = refresh();
  await m.tick();
  const next = refresh();
  await m.finish(new Error("database away"));
  await t.rejects(failing, { message: "database away" });
  await m.finish();
  await next;
  t.same(m.log, ["start 1", "end 1", "start 2", "end 2"]);
});
