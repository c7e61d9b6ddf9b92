// A slow query, made at the database edge: a Prisma client on the test's database whose next
// `findMany` of one model reads its rows at once but hands them back only when the test says so.
// It lets two cache reloads overlap with the older read finishing last, as a slow query would.
import { openDb, type Db } from "../../src/storage/prisma.js";

type Test = { teardown(fn: () => unknown): void };

export type SlowReads = {
  /** the client to build the cache on */
  db: Db;
  /** Holds back the answer of the next findMany; resolves once that query has read its rows. */
  holdNext(): Promise<void>;
  /** Hands the held answer back. */
  release(): void;
  /** findMany calls so far */
  reads(): number;
};

export async function slowReads(t: Test, databaseUrl: string, model: "client" | "signingKey"): Promise<SlowReads> {
  const base = await openDb(databaseUrl);
  t.teardown(() => base.$disconnect());
  let reads = 0;
  let gate: { read: () => void; released: Promise<void> } | null = null;
  let release = () => {};
  const findMany = async ({ args, query }: { args: unknown; query: (args: unknown) => Promise<unknown> }) => {
    reads++;
    const rows = await query(args);
    const held = gate;
    gate = null;
    if (held) {
      held.read();
      await held.released;
    }
    return rows;
  };
  // Prisma types each model's hook separately; the hook above fits both.
  const db = base.$extends({ query: { [model]: { findMany } } as never }) as unknown as Db;
  return {
    db,
    holdNext() {
      return new Promise<void>((read) => {
        gate = { read, released: new Promise<void>((resolve) => (release = resolve)) };
      });
    },
    release: () => release(),
    reads: () => reads,
  };
}
