// POST /token (RFC 6749 §3.2), with DPoP proofs (RFC 9449 §5).
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest, onRequestHookHandler } from "fastify";
import { handleTokenRequest } from "../../domain/token-request.js";
import { clientAuthentication } from "../plugins/client-auth.js";
import { requireForm } from "../plugins/content-type.js";
import { noStore } from "../plugins/no-store.js";
import { ERROR_RESPONSES, TokenRequest, TokenResponse } from "../schemas/oauth.js";

/** How many DPoP header fields came (Node joins repeated ones into one value: RFC 9449 §4.3 check 1). */
export function dpopHeaderCount(request: FastifyRequest): number {
  const raw = request.raw.rawHeaders;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === "dpop") count++;
  return count;
}

const token: FastifyPluginAsyncTypebox = async (app) => {
  const { dpop, config } = app.services;
  const htu = `${config.issuer}/token`;
  // RFC 9449 §8: with DPOP_NONCE on, every answer, error or not, gives the nonce to use next. Set
  // before anything can fail, as noStore's headers are.
  const nonceHeader: onRequestHookHandler = (_request, reply, done) => {
    reply.header("dpop-nonce", dpop.nonce());
    done();
  };
  app.post(
    "/token",
    {
      onRequest: dpop.nonceRequired ? [noStore, nonceHeader] : noStore,
      preValidation: requireForm,
      preHandler: clientAuthentication(app, "/token", config.rateLimitToken, true),
      schema: { body: TokenRequest, response: { 200: TokenResponse, ...ERROR_RESPONSES } },
    },
    async (request) => {
      const header = request.headers.dpop;
      const key = await dpop.check({ header: Array.isArray(header) ? header.join(", ") : header, headerCount: dpopHeaderCount(request), htm: "POST", htu });
      return handleTokenRequest(app.services, request.client!, request.body, key);
    },
  );
};

export default token;
