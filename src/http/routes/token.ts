// POST /token (RFC 6749 §3.2).
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { handleTokenRequest } from "../../domain/token-request.js";
import { clientAuthentication } from "../plugins/client-auth.js";
import { requireForm } from "../plugins/content-type.js";
import { noStore } from "../plugins/no-store.js";
import { ERROR_RESPONSES, TokenRequest, TokenResponse } from "../schemas/oauth.js";

const token: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    "/token",
    {
      onRequest: noStore,
      preValidation: requireForm,
      preHandler: clientAuthentication(app, "/token", app.services.config.rateLimitToken, true),
      schema: { body: TokenRequest, response: { 200: TokenResponse, ...ERROR_RESPONSES } },
    },
    (request) => handleTokenRequest(app.services, request.client!, request.body),
  );
};

export default token;
