// /admin/users: register users who sign in to first-party clients.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { UserBody, UserCreate } from "../../schemas/admin.js";
import { ERROR_RESPONSES } from "../../schemas/oauth.js";

const users: FastifyPluginAsyncTypebox = async (app) => {
  app.post("/admin/users", { schema: { body: UserCreate, response: { 201: UserBody, ...ERROR_RESPONSES } } }, async (request, reply) => {
    const user = await app.services.users.create(request.body.username, request.body.password, request.admin!.actor);
    return reply.code(201).send({ id: user.id, username: user.username, enabled: user.enabled, created_at: user.createdAt.toISOString() });
  });
};

export default users;
