// The audit log: append-only, read newest first.
import type { Db } from "./prisma.js";

export type AuditEntry = { at: Date; actor: string; action: string; target: string; details?: Record<string, unknown> };
export type AuditRecord = Omit<AuditEntry, "details"> & { id: number; details: Record<string, unknown> };

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
      where: before === undefined ? {} : { id: { lt: before } },
      orderBy: { id: "desc" },
      take: limit,
    });
    return rows.map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
  }
}
