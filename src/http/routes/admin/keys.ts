// /admin/keys: list, rotate and retire signing keys (the same operations as `tessera keys`).
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { KeySummary } from "../../../domain/keys/key-manager.js";
import { KeyBody, KeyRotation } from "../../schemas/admin.js";
import { ERROR_RESPONSES } from "../../schemas/oauth.js";

const keyBody = (k: KeySummary) => ({
  kid: k.kid,
  alg: k.alg,
  state: k.state,
  generation: k.generation,
  created_at: k.createdAt.toISOString(),
  activates_at: k.activatesAt.toISOString(),
  retired_since: k.retiredSince?.toISOString() ?? null,
  published: k.published,
});

const keys: FastifyPluginAsyncTypebox = async (app) => {
  const { keyAdmin, keys: ring } = app.services;

  app.get("/admin/keys", { schema: { response: { 200: Type.Object({ keys: Type.Array(KeyBody) }), ...ERROR_RESPONSES } } }, async () => ({
    keys: (await keyAdmin.summaries()).map(keyBody),
  }));

  app.post("/admin/keys/rotate", { schema: { body: KeyRotation, response: { 201: KeyBody, ...ERROR_RESPONSES } } }, async (request, reply) => {
    const key = await keyAdmin.rotate(request.admin!.actor, request.body.now ?? false);
    await ring.refresh(); // this instance at once; the others within CACHE_REFRESH
    return reply.code(201).send(keyBody(key));
  });

  app.post(
    "/admin/keys/:kid/retire",
    // No control characters: PostgreSQL refuses U+0000 in text, and no kid has any.
    { schema: { params: Type.Object({ kid: Type.String({ maxLength: 128, pattern: "^[^\\u0000-\\u001f\\u007f]*$" }) }), response: { 200: KeyBody, ...ERROR_RESPONSES } } },
    async (request) => {
      const key = await keyAdmin.retire(request.params.kid, request.admin!.actor);
      await ring.refresh();
      return keyBody(key);
    },
  );
};

export default keys;
