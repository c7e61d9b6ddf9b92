// The statements of direct-sql.ts on PostgreSQL: on the pool Prisma's adapter uses, each SQL text
// prepared once per connection.
import { sqltag as sql, type Sql } from "@prisma/client/runtime/client";
import type pg from "pg";
import { Rollback, type DirectSql, type Step } from "../direct-sql.js";
import type { QueryObserver } from "../prisma.js";

// A UTC timestamp(3) as PostgreSQL writes it in text ("2031-05-06 07:08:09.123"); pg's own parser would
// read it in the process's time zone.
const TIMESTAMP_OID = 1114;
const utcTimestamp = (text: string) => new Date(`${text.replace(" ", "T")}Z`);

/** Pool settings that read timestamp columns as UTC, as Prisma writes them. */
export const pgTypes = (types: typeof pg.types): pg.CustomTypesConfig => ({
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === TIMESTAMP_OID && format !== "binary" ? utcTimestamp : types.getTypeParser(oid, format)) as pg.CustomTypesConfig["getTypeParser"],
});

const FOR_SHARE = sql`FOR SHARE`;

export function pgDirectSql(pool: pg.Pool, onQuery?: QueryObserver): DirectSql {
  const names = new Map<string, string>();
  const nameOf = (text: string) => names.get(text) ?? names.set(text, `tessera_${names.size + 1}`).get(text)!;
  // PostgreSQL reads the zone of a timestamp literal only for timestamptz; Prisma's columns are UTC
  // timestamp(3), so a date goes as its UTC ISO text (pg would send local time).
  const run = async (connection: pg.Pool | pg.PoolClient, q: Sql) => {
    const started = performance.now();
    const values = q.values.map((v) => (v instanceof Date ? v.toISOString() : v));
    const result = await connection.query({ name: nameOf(q.text), text: q.text, values });
    onQuery?.(q.text, performance.now() - started);
    return result;
  };
  const changes = async (connection: pg.Pool | pg.PoolClient, q: Sql) => (await run(connection, q)).rowCount ?? 0;
  return {
    provider: "postgresql",
    forShare: FOR_SHARE,
    rows: async <T extends Record<string, unknown>>(q: Sql) => (await run(pool, q)).rows as T[],
    changes: (q) => changes(pool, q),
    /** READ COMMITTED, on one pooled connection. */
    async transaction(steps: Step[]) {
      const client = await pool.connect();
      // A connection whose BEGIN, COMMIT or ROLLBACK failed is dropped, not reused: its state is unknown.
      let broken: Error | undefined;
      const control = (text: string) => client.query(text).catch((e: Error) => Promise.reject((broken = e)));
      try {
        await control("BEGIN");
        const counts: number[] = [];
        try {
          for (const step of steps) {
            if ("lock" in step) {
              await run(client, step.lock);
              continue;
            }
            const changed = await changes(client, step.write);
            if (step.expect !== undefined && changed !== step.expect) throw new Rollback();
            counts.push(changed);
          }
        } catch (error) {
          await control("ROLLBACK").catch(() => undefined);
          if (error instanceof Rollback) return null;
          throw error;
        }
        await control("COMMIT");
        return counts;
      } finally {
        client.release(broken);
      }
    },
    // One statement, one round trip and one commit: the INSERT reads the row the UPDATE returned, so it
    // inserts nothing when the UPDATE matched nothing.
    async insertIfUpdated(update, into, values) {
      return (await changes(pool, sql`WITH updated AS (${update} RETURNING 1) INSERT INTO ${into} SELECT ${values} FROM updated`)) === 1;
    },
  };
}
