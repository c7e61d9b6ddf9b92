// POST /token (RFC 6749 §3.2).
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { handleTokenRequest } from "../../domain/token-request.js";
import { clientCredentials } from "../plugins/client-auth.js";
import { requireForm } from "../plugins/content-type.js";
import { noStore } from "../plugins/no-store.js";
import { limitPerMinute } from "../plugins/rate-limits.js";
import { ERROR_RESPONSES, TokenRequest, TokenResponse } from "../schemas/oauth.js";

const token: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    "/token",
    {
      config: { ...limitPerMinute(app.services.config.rateLimitToken, "client") },
      onRequest: noStore,
      preValidation: requireForm,
      schema: { body: TokenRequest, response: { 200: TokenResponse, ...ERROR_RESPONSES } },
    },
    (request) => handleTokenRequest(app.services, clientCredentials(request), request.body),
  );
};

export default token;
