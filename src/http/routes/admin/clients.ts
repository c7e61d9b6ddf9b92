// /admin/clients: register and manage clients (the same operations as `tessera clients`).
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { ClientView } from "../../../domain/clients/client-service.js";
import type { JsonWebKeySet } from "../../../storage/clients.js";
import { ClientBody, ClientCreate, ClientPatch, ClientWithSecret, SecretBody, SecretRotation } from "../../schemas/admin.js";
import { ERROR_RESPONSES } from "../../schemas/oauth.js";

const iso = (d: Date | null) => d?.toISOString() ?? null;

export const clientBody = (c: ClientView) => ({
  client_id: c.id,
  name: c.name,
  grant_types: c.grantTypes,
  scope: c.scopes.join(" "),
  audiences: c.audiences,
  token_ttl: c.tokenTtlSeconds,
  first_party: c.firstParty,
  introspect: c.canIntrospect,
  jwks: c.jwks,
  enabled: c.enabled,
  previous_secret_expires_at: iso(c.previousSecretExpiresAt),
  created_at: c.createdAt.toISOString(),
  updated_at: c.updatedAt.toISOString(),
});

type Fields = {
  name?: string;
  grant_types?: string[];
  audiences?: string[];
  scope?: string;
  token_ttl?: number | null;
  first_party?: boolean;
  introspect?: boolean;
  jwks?: JsonWebKeySet | null;
  enabled?: boolean;
};

const changes = (b: Fields) => ({
  ...(b.name !== undefined && { name: b.name }),
  ...(b.grant_types !== undefined && { grantTypes: b.grant_types }),
  ...(b.audiences !== undefined && { audiences: b.audiences }),
  ...(b.scope !== undefined && { scopes: b.scope.split(" ").filter(Boolean) }),
  ...(b.token_ttl !== undefined && { tokenTtlSeconds: b.token_ttl }),
  ...(b.first_party !== undefined && { firstParty: b.first_party }),
  ...(b.introspect !== undefined && { canIntrospect: b.introspect }),
  ...(b.jwks !== undefined && { jwks: b.jwks }),
  ...(b.enabled !== undefined && { enabled: b.enabled }),
});

// client_ids are base64url: anything else is not one (and may hold bytes a database refuses).
const Id = Type.Object({ id: Type.String({ maxLength: 64, pattern: "^[A-Za-z0-9_-]+$" }) });

const clients: FastifyPluginAsyncTypebox = async (app) => {
  const admin = app.services.clientAdmin;

  app.get("/admin/clients", { schema: { response: { 200: Type.Object({ clients: Type.Array(ClientBody) }), ...ERROR_RESPONSES } } }, async () => ({
    clients: (await admin.list()).map(clientBody),
  }));

  app.post("/admin/clients", { schema: { body: ClientCreate, response: { 201: ClientWithSecret, ...ERROR_RESPONSES } } }, async (request, reply) => {
    const b = request.body;
    const { client, clientSecret } = await admin.create(
      { name: b.name, grantTypes: b.grant_types, audiences: b.audiences, scopes: [], ...changes(b) },
      request.admin!.actor,
    );
    return reply.code(201).send({ ...clientBody(client), ...(clientSecret !== null && { client_secret: clientSecret }) });
  });

  app.get("/admin/clients/:id", { schema: { params: Id, response: { 200: ClientBody, ...ERROR_RESPONSES } } }, async (request) =>
    clientBody(await admin.show(request.params.id)),
  );

  app.patch("/admin/clients/:id", { schema: { params: Id, body: ClientPatch, response: { 200: ClientBody, ...ERROR_RESPONSES } } }, async (request) =>
    clientBody(await admin.update(request.params.id, changes(request.body), request.admin!.actor)),
  );

  app.delete("/admin/clients/:id", { schema: { params: Id, response: { 204: Type.Null(), ...ERROR_RESPONSES } } }, async (request, reply) => {
    await admin.delete(request.params.id, request.admin!.actor);
    return reply.code(204).send(null);
  });

  app.post("/admin/clients/:id/secret", { schema: { params: Id, body: SecretRotation, response: { 200: SecretBody, ...ERROR_RESPONSES } } }, async (request) => {
    const { client, clientSecret } = await admin.rotateSecret(request.params.id, request.body.grace_seconds ?? 0, request.admin!.actor);
    return { client_id: client.id, client_secret: clientSecret, previous_secret_expires_at: iso(client.previousSecretExpiresAt) };
  });
};

export default clients;
