// POST /par: the pushed authorization request endpoint (RFC 9126 §2). The client authenticates as at
// /token (every method; public clients name themselves with client_id), under /token's rate limits,
// and pushes the parameters /authorize takes; it gets a request_uri to send to /authorize with its
// client_id. Errors are JSON as at /token (§2.3): none is ever sent to the redirect URI. A DPoP proof
// may come with the request (RFC 9449 §10.1): checked as at /token, its key binds the code.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { AUTHORIZATION_PARAMETERS } from "../../domain/authorization/authorization-request.js";
import { MethodNotAllowed } from "../../errors/oauth.js";
import { clientAuthentication } from "../plugins/client-auth.js";
import { requireForm } from "../plugins/content-type.js";
import { noStore } from "../plugins/no-store.js";
import { ERROR_RESPONSES } from "../schemas/oauth.js";
import { dpopNonceHeader, dpopRequest } from "../dpop-header.js";

export const PAR_PATH = "/par";

// One string each, as at /token: a repeated parameter fails validation (invalid_request); resource
// may be repeated (RFC 8707 §2). Unknown parameters are dropped (RFC 6749 §3.1).
const param = Type.String({ maxLength: 4096 });
const PushedRequest = Type.Object(
  {
    ...Object.fromEntries(AUTHORIZATION_PARAMETERS.map((name) => [name, Type.Optional(param)])),
    resource: Type.Optional(Type.Union([param, Type.Array(param, { minItems: 1, maxItems: 10 })])),
    client_secret: Type.Optional(param),
    client_assertion_type: Type.Optional(param),
    client_assertion: Type.Optional(Type.String({ maxLength: 8192 })),
  },
  { additionalProperties: false, description: "the authorization request (as /authorize takes it) and the client's authentication" },
);

const PushedResponse = Type.Object(
  {
    request_uri: Type.String({ description: "urn:ietf:params:oauth:request_uri:…, for /authorize?client_id=…&request_uri=…" }),
    expires_in: Type.Integer({ description: "seconds the request_uri stays usable (PAR_TTL), once" }),
  },
  { additionalProperties: false, description: "Created: the request is stored (RFC 9126 §2.2)" },
);

const par: FastifyPluginAsyncTypebox = async (app) => {
  const { services } = app;
  const { dpop, config } = services;
  const htu = `${config.issuer}${PAR_PATH}`;
  app.post(
    PAR_PATH,
    {
      // RFC 9449 §8: with DPOP_NONCE on, every answer gives the nonce to use next, as /token's do.
      onRequest: dpop.nonceRequired ? [noStore, dpopNonceHeader(dpop)] : noStore,
      preValidation: requireForm,
      preHandler: clientAuthentication(app, PAR_PATH, services.config.rateLimitToken, true),
      schema: { summary: "Pushed authorization request endpoint (RFC 9126)", body: PushedRequest, response: { 201: PushedResponse, ...ERROR_RESPONSES } },
    },
    async (request, reply) => {
      const key = await dpop.check(dpopRequest(request, htu));
      return reply.code(201).send(await services.pushedRequests.push(request.client!, request.body, key));
    },
  );
  // RFC 9126 §2.3: another method is 405 with Allow (RFC 9110 §15.5.6), not Fastify's 404. HEAD comes
  // with GET; OPTIONS stays with the CORS plugin's preflight.
  app.route({
    method: ["GET", "PUT", "PATCH", "DELETE"],
    url: PAR_PATH,
    schema: { hide: true },
    handler: (_request, reply) => {
      reply.header("allow", "POST");
      throw new MethodNotAllowed("the pushed authorization request endpoint takes POST");
    },
  });
};

export default par;
