// Bearer authentication for /admin (RFC 6750 §2.1); the checks themselves are domain/admin-auth.ts.
import type { FastifyInstance, onRequestAsyncHookHandler } from "fastify";
import { authenticateAdmin, type AdminPrincipal } from "../../domain/admin-auth.js";
import { InvalidRequest, InvalidToken } from "../../errors/oauth.js";

declare module "fastify" {
  interface FastifyRequest {
    admin: AdminPrincipal | null;
  }
}

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

// RFC 6750 §3.1: a request without credentials gets a challenge without an error code.
const NO_CREDENTIALS = 'Bearer realm="tessera"';

/** An onRequest hook: callers are authenticated before their body is read or validated. */
export function adminAuth(app: FastifyInstance): onRequestAsyncHookHandler {
  app.decorateRequest("admin", null);
  return async (request) => {
    const header = request.headers.authorization?.trim();
    if (header === undefined || !/^bearer(\s|$)/i.test(header)) {
      throw new InvalidToken("a bearer access token is required", { challenge: NO_CREDENTIALS });
    }
    const match = BEARER.exec(header);
    if (!match) throw new InvalidRequest("malformed Bearer authorization header", { challenge: 'Bearer realm="tessera", error="invalid_request"' });
    request.admin = await authenticateAdmin(app.services, match[1]!);
  };
}
