// POST /introspect (RFC 7662), for clients introspecting their own tokens and for resource servers.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { introspect } from "../../domain/tokens/introspection.js";
import { clientAuthentication } from "../plugins/client-auth.js";
import { requireForm } from "../plugins/content-type.js";
import { noStore } from "../plugins/no-store.js";
import { ERROR_RESPONSES, IntrospectionResponse, TokenStateRequest } from "../schemas/oauth.js";

const introspection: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    "/introspect",
    { onRequest: noStore, preValidation: requireForm, preHandler: clientAuthentication(app, "/introspect", app.services.config.rateLimitIntrospect), schema: { body: TokenStateRequest, response: { 200: IntrospectionResponse, ...ERROR_RESPONSES } } },
    (request) => introspect(app.services, request.client!, request.body.token, request.body.token_type_hint),
  );
};

export default introspection;
