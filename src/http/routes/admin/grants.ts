// /admin/users/:id/grants: a user's remembered consents, and their revocation (as `tessera grants`).
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { grantJson, grantRevocationJson } from "../../../domain/authorization/grant-json.js";
import { GrantList, GrantRevoked, UserClientParams, UserId } from "../../schemas/admin.js";
import { ERROR_RESPONSES } from "../../schemas/oauth.js";

const grants: FastifyPluginAsyncTypebox = async (app) => {
  const { grants: consents, users } = app.services;

  app.get(
    "/admin/users/:id/grants",
    { schema: { summary: "The user's remembered consents (grants), one per client", params: UserId, response: { 200: GrantList, ...ERROR_RESPONSES } } },
    async (request) => {
      const user = await users.show(request.params.id); // 404 for no such user
      return { grants: (await consents.listOfUser(user.id)).map(grantJson) };
    },
  );

  app.delete(
    "/admin/users/:id/grants/:clientId",
    {
      schema: {
        summary: "Revoke the user's grant to a client",
        description:
          "Ends the remembered consent (the next authorization asks again), revokes the refresh-token families issued under it and " +
          "blocklists their live access tokens and those of its codes; its unused codes stop working. 404 when there is no live grant.",
        params: UserClientParams,
        response: { 200: GrantRevoked, ...ERROR_RESPONSES },
      },
    },
    async (request) => grantRevocationJson(await consents.revokeFor(request.params.id, request.params.clientId, request.admin!.actor)),
  );
};

export default grants;
