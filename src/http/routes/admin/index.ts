// /admin/*: every route here needs an admin access token (plugins/admin-auth.ts), in its own context
// so the hooks touch nothing else. Answers are never cached.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { adminAuth } from "../../plugins/admin-auth.js";
import { optionalJson } from "../../plugins/content-type.js";
import { noStore } from "../../plugins/no-store.js";
import audit from "./audit.js";
import clients from "./clients.js";
import grants from "./grants.js";
import keys from "./keys.js";
import tokens from "./tokens.js";
import users from "./users.js";

const admin: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook("onRequest", noStore);
  app.addHook("onRequest", adminAuth(app));
  app.addHook("preValidation", optionalJson);
  await app.register(clients);
  await app.register(keys);
  await app.register(users);
  await app.register(audit);
  await app.register(tokens);
  await app.register(grants);
};

export default admin;
