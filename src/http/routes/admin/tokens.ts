// /admin/tokens/revoke: revoke any access token (by the token or its jti) or any refresh token's family.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { revokeAsAdmin, type AdminRevocationRequest } from "../../../domain/tokens/admin-revocation.js";
import { ValidationError } from "../../../errors/internal.js";
import { TokenRevocation, TokenRevocationBody } from "../../schemas/admin.js";
import { ERROR_RESPONSES } from "../../schemas/oauth.js";

const tokens: FastifyPluginAsyncTypebox = async (app) => {
  app.post("/admin/tokens/revoke", { schema: { body: TokenRevocation, response: { 200: TokenRevocationBody, ...ERROR_RESPONSES } } }, async (request) => {
    const { token, jti, exp } = request.body;
    if ((token === undefined) === (jti === undefined)) throw new ValidationError("give either token or jti");
    if (token !== undefined && exp !== undefined) throw new ValidationError("exp goes with jti; a token carries its own");
    const what: AdminRevocationRequest = token !== undefined ? { token } : { jti: jti!, ...(exp !== undefined && { exp }) };
    const result = await revokeAsAdmin(app.services, what, request.admin!.actor);
    return result.revoked === "access_token"
      ? { revoked: result.revoked, client_id: result.clientId, jti: result.jti, expires_at: result.expiresAt.toISOString() }
      : { revoked: result.revoked, client_id: result.clientId, family_id: result.familyId };
  });
};

export default tokens;
