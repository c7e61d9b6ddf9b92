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
