// Bearer authentication for /admin (RFC 6750 §2.1); the checks themselves are domain/admin-auth.ts.
import type { FastifyInstance, preHandlerAsyncHookHandler } from "fastify";
import { authenticateAdmin, type AdminPrincipal } from "../../domain/admin-auth.js";
import { InvalidRequest, InvalidToken } from "../../errors/oauth.js";

declare module "fastify" {
  interface FastifyRequest {
    admin: AdminPrincipal | null;
  }
}

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

export function adminAuth(app: FastifyInstance): preHandlerAsyncHookHandler {
  app.decorateRequest("admin", null);
  return async (request) => {
    const header = request.headers.authorization;
    if (header === undefined) throw new InvalidToken("a bearer access token is required");
    const match = BEARER.exec(header.trim());
    if (!match) throw new InvalidRequest("malformed Authorization header: expected Bearer");
    request.admin = await authenticateAdmin(app.services, match[1]!);
  };
}
