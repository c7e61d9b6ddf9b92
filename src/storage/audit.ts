// The audit log: append-only, read newest first.
import type { Db } from "./prisma.js";

export type AuditEntry = { at: Date; actor: string; action: string; target: string; details?: Record<string, unknown> };
export type AuditRecord = Omit<AuditEntry, "details"> & { id: number; details: Record<string, unknown> };

const MAX_ID = 2 ** 31 - 1;

export class AuditRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async record(entry: AuditEntry): Promise<void> {
    await this.#db.auditEvent.create({ data: { ...entry, details: JSON.stringify(entry.details ?? {}) } });
  }

  /** Newest first; `before` is the id of the last entry of the previous page. */
  async list(limit: number, before?: number): Promise<AuditRecord[]> {
    const rows = await this.#db.auditEvent.findMany({
      // ids are 32-bit integers in the database: a larger `before` means "from the newest"
      where: before === undefined ? {} : { id: { lt: Math.min(before, MAX_ID) } },
      orderBy: { id: "desc" },
      take: limit,
    });
    return rows.map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
  }
}
