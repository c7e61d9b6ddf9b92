// A Prisma client on a SQLite file, through tessera's own driver adapter (adapter.ts).
import { PrismaClient } from "../../generated/sqlite/client.js";
import { UsedDpopProofsInMemory } from "../used-dpop-proofs.js";
import { clientOptions, observeQueries, type OpenOptions, type Opened } from "../prisma.js";
import { SqliteAdapterFactory } from "./adapter.js";
import { sqliteDirectSql } from "./direct-sql.js";

export async function open(url: string, { onQuery, sqliteBusyTimeoutMs }: OpenOptions): Promise<Opened> {
  const adapter = new SqliteAdapterFactory({ url, timeout: sqliteBusyTimeoutMs });
  const db = new PrismaClient({ adapter, ...clientOptions(onQuery) });
  observeQueries(db, onQuery);
  await db.$queryRawUnsafe("PRAGMA journal_mode = WAL"); // stored in the file
  await db.$executeRawUnsafe("PRAGMA synchronous = NORMAL"); // per connection; FULL: safer, ~half the write rate
  return {
    db,
    direct: sqliteDirectSql(adapter, onQuery), // after the first query: Prisma connects lazily
    // One instance per SQLite file: in memory (used-dpop-proofs.ts says why).
    usedDpopProofs: (nowMs) => new UsedDpopProofsInMemory(nowMs),
    // The file is open in this process, and SELECT 1 reads none of it: nothing can be away. A failure
    // here is a fault of the process, answered as any other error.
    answers: async () => {
      await db.$queryRawUnsafe("SELECT 1");
      return true;
    },
  };
}
