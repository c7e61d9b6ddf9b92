// Change counters for tables that instances keep in memory (clients, signing keys, and the status
// lists, which revocations and client invalidations change).
// Every write to such a table bumps its counter in the same transaction; instances poll the counter.
// A counter only grows, so a copy read at a higher version is the newer one: the caches apply a
// reload only when its version is above the one they hold, and reload one at a time
// (domain/poller.ts singleFlight), so a slow, older read can never replace a newer copy.
import type { Db } from "./prisma.js";

export type CachedTable = "clients" | "signing_keys" | "status_lists";

/** The write that bumps a counter; put it in the same $transaction([...]) as the change. */
export const bumpVersion = (db: Db, name: CachedTable) =>
  db.cacheVersion.upsert({ where: { name }, create: { name, version: 1 }, update: { version: { increment: 1 } } });

export async function readVersion(db: Db, name: CachedTable): Promise<number> {
  const row = await db.cacheVersion.findUnique({ where: { name } });
  return row?.version ?? 0;
}
