// /admin/clients: register and manage clients (the same operations as `tessera clients`, and the
// same representation: domain/clients/client-view.ts).
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { ClientUpdate } from "../../../domain/clients/client-service.js";
import { clientJson, newClientJson, secretRotationJson } from "../../../domain/clients/client-view.js";
import { ValidationError } from "../../../errors/internal.js";
import type { JsonWebKeySet } from "../../../storage/clients.js";
import { ClientBody, ClientCreate, ClientIdParams, ClientPatch, ClientWithSecret, SecretBody, SecretRotation } from "../../schemas/admin.js";
import { ERROR_RESPONSES } from "../../schemas/oauth.js";

type Fields = {
  client_name?: string;
  name?: string;
  grant_types?: string[];
  audiences?: string[];
  scope?: string;
  token_ttl?: number | null;
  first_party?: boolean;
  introspect?: boolean;
  jwks?: JsonWebKeySet | null;
  redirect_uris?: string[];
  post_logout_redirect_uris?: string[];
  public?: boolean;
  dpop_bound_access_tokens?: boolean;
  require_pushed_authorization_requests?: boolean;
  enabled?: boolean;
};

/** client_name, or `name`, its older spelling. */
function clientName(b: Fields): string | undefined {
  if (b.client_name !== undefined && b.name !== undefined) throw new ValidationError("client_name and name are the same field: give only client_name");
  return b.client_name ?? b.name;
}

const changes = (b: Fields): ClientUpdate => {
  const name = clientName(b);
  return {
    ...(name !== undefined && { name }),
    ...(b.grant_types !== undefined && { grantTypes: b.grant_types }),
    ...(b.audiences !== undefined && { audiences: b.audiences }),
    ...(b.scope !== undefined && { scopes: b.scope.split(" ").filter(Boolean) }),
    ...(b.token_ttl !== undefined && { tokenTtlSeconds: b.token_ttl }),
    ...(b.first_party !== undefined && { firstParty: b.first_party }),
    ...(b.introspect !== undefined && { canIntrospect: b.introspect }),
    ...(b.jwks !== undefined && { jwks: b.jwks }),
    ...(b.redirect_uris !== undefined && { redirectUris: b.redirect_uris }),
    ...(b.post_logout_redirect_uris !== undefined && { postLogoutRedirectUris: b.post_logout_redirect_uris }),
    ...(b.public !== undefined && { public: b.public }),
    ...(b.dpop_bound_access_tokens !== undefined && { dpopBoundAccessTokens: b.dpop_bound_access_tokens }),
    ...(b.require_pushed_authorization_requests !== undefined && { requirePushedAuthorizationRequests: b.require_pushed_authorization_requests }),
    ...(b.enabled !== undefined && { enabled: b.enabled }),
  };
};

const clients: FastifyPluginAsyncTypebox = async (app) => {
  const admin = app.services.clientAdmin;

  app.get("/admin/clients", { schema: { response: { 200: Type.Object({ clients: Type.Array(ClientBody) }), ...ERROR_RESPONSES } } }, async () => ({
    clients: (await admin.list()).map(clientJson),
  }));

  app.post("/admin/clients", { schema: { body: ClientCreate, response: { 201: ClientWithSecret, ...ERROR_RESPONSES } } }, async (request, reply) => {
    const b = request.body;
    const name = clientName(b);
    if (name === undefined) throw new ValidationError("client_name is required");
    const { client, clientSecret } = await admin.create(
      { name, grantTypes: b.grant_types, audiences: b.audiences, scopes: [], ...changes(b) },
      request.admin!.actor,
    );
    return reply.code(201).send(newClientJson(client, clientSecret));
  });

  app.get("/admin/clients/:id", { schema: { params: ClientIdParams, response: { 200: ClientBody, ...ERROR_RESPONSES } } }, async (request) =>
    clientJson(await admin.show(request.params.id)),
  );

  // No field at all changes nothing and answers the client as it is.
  app.patch("/admin/clients/:id", { schema: { params: ClientIdParams, body: ClientPatch, response: { 200: ClientBody, ...ERROR_RESPONSES } } }, async (request) =>
    clientJson(await admin.update(request.params.id, changes(request.body), request.admin!.actor)),
  );

  app.delete("/admin/clients/:id", { schema: { params: ClientIdParams, response: { 204: Type.Null(), ...ERROR_RESPONSES } } }, async (request, reply) => {
    await admin.delete(request.params.id, request.admin!.actor);
    return reply.code(204).send(null);
  });

  app.post(
    "/admin/clients/:id/secret",
    { schema: { params: ClientIdParams, body: SecretRotation, response: { 200: SecretBody, ...ERROR_RESPONSES } } },
    async (request) => {
      const { client, clientSecret } = await admin.rotateSecret(request.params.id, request.body.grace_seconds ?? 0, request.admin!.actor);
      return secretRotationJson(client, clientSecret);
    },
  );
};

export default clients;
