// POST /token (RFC 6749 §3.2), with DPoP proofs (RFC 9449 §5).
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { handleTokenRequest } from "../../domain/token-request.js";
import { dpopNonceHeader, dpopRequest } from "../dpop-header.js";
import { clientAuthentication } from "../plugins/client-auth.js";
import { requireForm } from "../plugins/content-type.js";
import { noStore } from "../plugins/no-store.js";
import { ERROR_RESPONSES, TokenRequest, TokenResponse } from "../schemas/oauth.js";

const token: FastifyPluginAsyncTypebox = async (app) => {
  const { dpop, config } = app.services;
  const htu = `${config.issuer}/token`;
  app.post(
    "/token",
    {
      onRequest: dpop.nonceRequired ? [noStore, dpopNonceHeader(dpop)] : noStore,
      preValidation: requireForm,
      preHandler: clientAuthentication(app, "/token", config.rateLimitToken, true),
      schema: { body: TokenRequest, response: { 200: TokenResponse, ...ERROR_RESPONSES } },
    },
    async (request) => {
      const key = await dpop.check(dpopRequest(request, htu));
      return handleTokenRequest(app.services, request.client!, request.body, key);
    },
  );
};

export default token;
