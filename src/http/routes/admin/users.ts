// /admin/users: the users who sign in to first-party clients, and their sessions (refresh families).
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { browserSessionJson, sessionJson, userJson } from "../../../domain/users/user-json.js";
import { MAX_PAGE } from "../../../domain/users/user-service.js";
import { ValidationError } from "../../../errors/internal.js";
import { BrowserSessionList, BrowserSessionsEnded, SessionList, SessionsEnded, UserBody, UserCreate, UserId, UserPage, UserPatch, UserQuery } from "../../schemas/admin.js";
import { ERROR_RESPONSES } from "../../schemas/oauth.js";

const DEFAULT_LIMIT = 100;

function pageLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_LIMIT;
  const limit = /^[0-9]{1,3}$/.test(raw) ? Number(raw) : 0;
  if (limit < 1 || limit > MAX_PAGE) throw new ValidationError(`parameter limit must be an integer from 1 to ${MAX_PAGE}`);
  return limit;
}

const users: FastifyPluginAsyncTypebox = async (app) => {
  const service = app.services.users;

  app.get(
    "/admin/users",
    { schema: { summary: "List users by username, a page at a time", querystring: UserQuery, response: { 200: UserPage, ...ERROR_RESPONSES } } },
    async (request) => {
      const { username, after } = request.query;
      const limit = pageLimit(request.query.limit);
      const page = await service.page({ username, after, limit });
      return { users: page.map(userJson), next_after: page.length === limit ? page.at(-1)!.username : null };
    },
  );

  app.post("/admin/users", { schema: { summary: "Register a user", body: UserCreate, response: { 201: UserBody, ...ERROR_RESPONSES } } }, async (request, reply) => {
    const { username, password, ...profile } = request.body;
    const user = await service.create(username, password, request.admin!.actor, profile);
    return reply.code(201).send(userJson(user));
  });

  app.get("/admin/users/:id", { schema: { summary: "Show a user", params: UserId, response: { 200: UserBody, ...ERROR_RESPONSES } } }, async (request) =>
    userJson(await service.show(request.params.id)),
  );

  app.patch(
    "/admin/users/:id",
    {
      schema: {
        summary: "Rename, enable or disable a user, set their password, name or email",
        description: "The password is taken from the JSON body only; one in the query string is refused.",
        params: UserId,
        body: UserPatch,
        response: { 200: UserBody, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      // A password in a URL ends up in logs and histories: refuse it rather than ignore it silently.
      if (Object.hasOwn(request.query as object, "password")) throw new ValidationError("the password goes in the JSON body, never in the query string");
      return userJson(await service.update(request.params.id, request.body, request.admin!.actor));
    },
  );

  app.delete(
    "/admin/users/:id",
    {
      schema: {
        summary: "Delete a user",
        description: "Ends the user's sessions first (their live access tokens are revoked), then deletes the user with their refresh tokens.",
        params: UserId,
        response: { 204: Type.Null({ description: "deleted" }), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      await service.delete(request.params.id, request.admin!.actor);
      return reply.code(204).send(null);
    },
  );

  app.get(
    "/admin/users/:id/sessions",
    { schema: { summary: "The user's sessions: refresh-token families that can still refresh", params: UserId, response: { 200: SessionList, ...ERROR_RESPONSES } } },
    async (request) => ({ sessions: (await service.sessions(request.params.id)).map(sessionJson) }),
  );

  app.delete(
    "/admin/users/:id/sessions",
    {
      schema: {
        summary: "End all of the user's sessions",
        description: "Revokes every refresh-token family of the user and the access tokens issued from them that still live.",
        params: UserId,
        response: { 200: SessionsEnded, ...ERROR_RESPONSES },
      },
    },
    async (request) => ({ sessions_ended: await service.endSessions(request.params.id, request.admin!.actor) }),
  );

  app.get(
    "/admin/users/:id/browser-sessions",
    {
      schema: {
        summary: "The user's browser sessions: where they are signed in to tessera's own pages (/authorize)",
        params: UserId,
        response: { 200: BrowserSessionList, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const user = await service.show(request.params.id);
      return { browser_sessions: (await app.services.browserSessions.listOfUser(user.id)).map(browserSessionJson) };
    },
  );

  app.delete(
    "/admin/users/:id/browser-sessions",
    {
      schema: {
        summary: "End all of the user's browser sessions",
        description: "The next /authorize in those browsers asks for the password again. Tokens already issued stay valid: DELETE /admin/users/{id}/sessions ends those.",
        params: UserId,
        response: { 200: BrowserSessionsEnded, ...ERROR_RESPONSES },
      },
    },
    async (request) => ({ browser_sessions_ended: await service.endBrowserSessions(request.params.id, request.admin!.actor) }),
  );
};

export default users;
