// Liveness (the process answers) and readiness (database reachable and a key able to sign).
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { STATIC_DOCUMENT } from "../plugins/metrics.js";

const Status = Type.Object({ status: Type.String() }, { additionalProperties: false });

const health: FastifyPluginAsyncTypebox = async (app) => {
  app.get("/healthz", { config: STATIC_DOCUMENT, schema: { response: { 200: Status } } }, async () => ({ status: "ok" }));
  app.get("/readyz", { schema: { response: { 200: Status, 503: Status } } }, async (_request, reply) => {
    reply.header("cache-control", "no-store");
    if (await app.services.ready()) return { status: "ready" };
    return reply.code(503).send({ status: "unavailable" });
  });
};

export default health;
