// A Prisma client on PostgreSQL, through Prisma's pg adapter on a pool of our own making.
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "../../generated/postgresql/client.js";
import { UsedDpopProofRepository } from "../used-dpop-proofs.js";
import { clientOptions, observeQueries, type Db, type OpenOptions, type Opened } from "../prisma.js";
import { pgDirectSql, pgTypes } from "./direct-sql.js";

export async function open(url: string, { onQuery }: OpenOptions): Promise<Opened> {
  // Bounded waits: while the database is away a request fails within seconds (503), never hangs.
  const pool = new pg.Pool({ connectionString: url, connectionTimeoutMillis: 3000, query_timeout: 10_000, types: pgTypes(pg.types) });
  const client = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }), ...clientOptions(onQuery) });
  observeQueries(client, onQuery);
  const db = client as unknown as Db;
  return {
    db,
    direct: pgDirectSql(pool, onQuery),
    usedDpopProofs: () => new UsedDpopProofRepository(db), // shared by every instance on the database
    // Not ready while the server is down or refuses this instance (restarted, out of connections).
    answers: () => db.$queryRawUnsafe("SELECT 1").then(() => true, () => false),
  };
}
