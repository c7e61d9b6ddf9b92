// Runs `task` every `intervalMs` without overlap; failures are logged and retried on the next tick,
// so an instance keeps serving from memory while its database is briefly away.
import type { Logger } from "./logger.js";

export type Poller = { stop(): void };

export function poll(intervalMs: number, task: () => Promise<unknown>, log: Logger, what: string): Poller {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    task()
      .catch((err: unknown) => log.warn({ err }, `${what} failed; keeping the previous copy`))
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref(); // never keeps the process alive on its own
  return { stop: () => clearInterval(timer) };
}

/**
 * `task` made single-flight: runs never overlap. A call made while a run is in flight waits for it,
 * then for one more run that starts after it (shared by every caller that arrived meanwhile): the
 * run in flight may have read the database before the caller's change, so the caller gets a run that
 * read after its call. Used by the caches (clients, signing keys): two overlapping reloads could
 * finish out of order, the slower one putting back the older copy.
 */
export function singleFlight(task: () => Promise<void>): () => Promise<void> {
  let last: Promise<unknown> = Promise.resolve(); // the latest run; settles, never rejects
  let queued: Promise<void> | null = null; // a run asked for that has not started yet
  return () => {
    if (queued) return queued; // not started yet: it will read after this call too
    const run = last.then(() => {
      queued = null;
      return task();
    });
    queued = run;
    last = run.catch(() => {});
    return run;
  };
}
