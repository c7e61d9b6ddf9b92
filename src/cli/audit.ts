// tessera audit [--limit N] [--before ID]: the audit log, newest first.
import { parseArgs } from "node:util";
import type { Config } from "../config/schema.js";
import { ValidationError } from "../errors/internal.js";
import { AuditRepository } from "../storage/audit.js";
import { withDb } from "./db.js";
import { printer } from "./output.js";

export const AUDIT_USAGE = "tessera audit [--limit N] [--before ID]";

const wholeNumber = (flag: string, raw: string | undefined, fallback?: number) => {
  if (raw === undefined) return fallback;
  if (!/^\d{1,15}$/.test(raw)) throw new ValidationError(`${flag}: must be a whole number`);
  return Number(raw);
};

export async function auditCommand(config: Config, args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { json: { type: "boolean" }, limit: { type: "string" }, before: { type: "string" } },
    strict: true,
  });
  const limit = wholeNumber("limit", values.limit, 50)!;
  const before = wholeNumber("before", values.before);
  const events = await withDb(config, (db) => new AuditRepository(db).list(limit, before));
  printer(values.json ?? false)(values.json ? events : events.map((e) => ({ ...e, details: JSON.stringify(e.details) })));
}
