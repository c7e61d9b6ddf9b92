// /admin/audit: the audit log, newest first, paged with `before` (the next_before of the last page).
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { AuditPage, AuditQuery } from "../../schemas/admin.js";
import { ERROR_RESPONSES } from "../../schemas/oauth.js";

const DEFAULT_LIMIT = 50;

const audit: FastifyPluginAsyncTypebox = async (app) => {
  app.get("/admin/audit", { schema: { querystring: AuditQuery, response: { 200: AuditPage, ...ERROR_RESPONSES } } }, async (request) => {
    const limit = request.query.limit === undefined ? DEFAULT_LIMIT : Number(request.query.limit); // 1 to MAX_AUDIT_LIMIT (the schema)
    const before = request.query.before === undefined ? undefined : Number(request.query.before);
    const events = await app.services.audit.list(limit, before);
    return {
      events: events.map((e) => ({ ...e, at: e.at.toISOString() })),
      next_before: events.length === limit ? events.at(-1)!.id : null,
    };
  });
};

export default audit;
