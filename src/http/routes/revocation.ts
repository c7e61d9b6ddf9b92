// POST /revoke (RFC 7009 §2.2): 200 with an empty body whatever the token was.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { revoke } from "../../domain/tokens/revocation.js";
import { clientAuthentication } from "../plugins/client-auth.js";
import { requireForm } from "../plugins/content-type.js";
import { noStore } from "../plugins/no-store.js";
import { ERROR_RESPONSES, TokenStateRequest } from "../schemas/oauth.js";

const revocation: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    "/revoke",
    { onRequest: noStore, preValidation: requireForm, preHandler: clientAuthentication(app, "/revoke", app.services.config.rateLimitRevoke, true), schema: { body: TokenStateRequest, response: { 200: Type.String({ maxLength: 0 }), ...ERROR_RESPONSES } } },
    async (request, reply) => {
      await revoke(app.services, request.client!, request.body.token, request.body.token_type_hint);
      return reply.code(200).type("text/plain; charset=utf-8").send("");
    },
  );
};

export default revocation;
