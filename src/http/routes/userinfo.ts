// GET|POST /userinfo (OpenID Connect Core §5.3): the access token as a Bearer token, in the
// Authorization header (RFC 6750 §2.1) or, on POST, as the form parameter access_token (§2.2); never in
// the query (§2.3 is optional, and URLs end up in logs). Errors exactly as RFC 6750 §3 writes them.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest, preValidationHookHandler } from "fastify";
import { userInfo } from "../../domain/users/userinfo.js";
import { InvalidRequest, InvalidToken } from "../../errors/oauth.js";
import { noStore } from "../plugins/no-store.js";
import { ERROR_RESPONSES, UserInfoForm, UserInfoResponse } from "../schemas/oauth.js";

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
// §3.1: no credentials, no error code in the challenge; a malformed request names invalid_request.
const NO_CREDENTIALS = 'Bearer realm="tessera"';
const MALFORMED = 'Bearer realm="tessera", error="invalid_request"';

/** POST: no body, or a form (RFC 6750 §2.2 requires application/x-www-form-urlencoded). */
const optionalForm: preValidationHookHandler = (request, _reply, done) => {
  if (request.body === undefined || request.body === null) {
    request.body = {};
    return done();
  }
  const type = request.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") return done(new InvalidRequest("content type must be application/x-www-form-urlencoded", { challenge: MALFORMED }));
  done();
};

/** The presented token: exactly one method (RFC 6750 §2: a client MUST NOT use more than one). */
function bearerToken(request: FastifyRequest, fromBody: string | undefined): string {
  if (Object.hasOwn(request.query as object, "access_token")) {
    throw new InvalidRequest("the access token goes in the Authorization header or a POST form body, never in the query", { challenge: MALFORMED });
  }
  const header = request.headers.authorization?.trim();
  const bearerHeader = header !== undefined && /^bearer(\s|$)/i.test(header);
  if (bearerHeader && fromBody !== undefined) throw new InvalidRequest("the access token was sent more than once", { challenge: MALFORMED });
  if (fromBody !== undefined) return fromBody;
  if (!bearerHeader) throw new InvalidToken("a bearer access token is required", { challenge: NO_CREDENTIALS });
  const match = BEARER.exec(header);
  if (!match) throw new InvalidRequest("malformed Bearer authorization header", { challenge: MALFORMED });
  return match[1]!;
}

const userinfo: FastifyPluginAsyncTypebox = async (app) => {
  const response = { 200: UserInfoResponse, ...ERROR_RESPONSES };
  app.get(
    "/userinfo",
    { onRequest: noStore, schema: { summary: "OpenID Connect UserInfo", response } },
    (request) => userInfo(app.services, bearerToken(request, undefined)),
  );
  app.post(
    "/userinfo",
    { onRequest: noStore, preValidation: optionalForm, schema: { summary: "OpenID Connect UserInfo", body: UserInfoForm, response } },
    (request) => userInfo(app.services, bearerToken(request, request.body.access_token)),
  );
};

export default userinfo;
