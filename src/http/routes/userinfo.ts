// GET|POST /userinfo (OpenID Connect Core §5.3): the access token as a Bearer token, in the
// Authorization header (RFC 6750 §2.1) or, on POST, as the form parameter access_token (§2.2); never in
// the query (§2.3 is optional, and URLs end up in logs). Or, for a DPoP-bound token, with the DPoP
// scheme and a DPoP proof header (RFC 9449 §7). Errors exactly as RFC 6750 §3 and RFC 9449 §7.1 write them.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply, FastifyRequest, preValidationHookHandler } from "fastify";
import { userInfo, userInfoChallenge, type Presentation } from "../../domain/users/userinfo.js";
import { InvalidDpopProof, InvalidRequest, InvalidToken, UseDpopNonce } from "../../errors/oauth.js";
import { dpopRequest } from "../dpop-header.js";
import { noStore } from "../plugins/no-store.js";
import { ERROR_RESPONSES, UserInfoForm, UserInfoResponse } from "../schemas/oauth.js";

// RFC 6750 §2.1 b64token and RFC 9449 §7.1 token68: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const CREDENTIALS = /^(bearer|dpop) +([A-Za-z0-9\-._~+/]+=*)$/i;
const SCHEME = /^(bearer|dpop)(\s|$)/i;
// §3.1: no credentials, no error code in the challenge (one per scheme offered, RFC 9449 §7.2); a
// malformed request names invalid_request.
const NO_CREDENTIALS = `${userInfoChallenge("Bearer")}, ${userInfoChallenge("DPoP")}`;
const MALFORMED = userInfoChallenge("Bearer", "invalid_request");

type Scheme = Presentation["scheme"];
type Presented = { token: string; scheme: Scheme };

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
function presentedToken(request: FastifyRequest, fromBody: string | undefined): Presented {
  if (Object.hasOwn(request.query as object, "access_token")) {
    throw new InvalidRequest("the access token goes in the Authorization header or a POST form body, never in the query", { challenge: MALFORMED });
  }
  const header = request.headers.authorization?.trim();
  const named = header === undefined ? undefined : SCHEME.exec(header)?.[1];
  const scheme: Scheme | undefined = named === undefined ? undefined : named.toLowerCase() === "dpop" ? "DPoP" : "Bearer";
  if (scheme !== undefined && fromBody !== undefined) throw new InvalidRequest("the access token was sent more than once", { challenge: MALFORMED });
  if (fromBody !== undefined) return { token: fromBody, scheme: "Bearer" };
  if (scheme === undefined) throw new InvalidToken("an access token is required (Bearer, or DPoP with a DPoP proof)", { challenge: NO_CREDENTIALS });
  const match = CREDENTIALS.exec(header!);
  if (!match) throw new InvalidRequest(`malformed ${scheme} authorization header`, { challenge: userInfoChallenge(scheme, "invalid_request") });
  return { token: match[2]!, scheme };
}

/**
 * RFC 9449 §7.1: the DPoP scheme needs a proof of the key for this request and this token (its ath);
 * its failures are 401s with a DPoP challenge, and a missing nonce (DPOP_NONCE) comes with a fresh one.
 */
async function proven(request: FastifyRequest, reply: FastifyReply, token: string): Promise<Presentation> {
  const { config, dpop } = request.server.services;
  if (dpop.nonceRequired) reply.header("dpop-nonce", dpop.nonce()); // §8.2: every answer may carry the next one
  const invalidProof = (description: string | undefined, cause?: unknown) =>
    new InvalidDpopProof(description, { cause, status: 401, challenge: userInfoChallenge("DPoP", "invalid_dpop_proof") });
  let key;
  try {
    key = await dpop.check(dpopRequest(request, `${config.issuer}/userinfo`, token));
  } catch (error) {
    if (error instanceof InvalidDpopProof) throw invalidProof(error.description, error);
    if (error instanceof UseDpopNonce) throw new UseDpopNonce(error.description, { cause: error, status: 401, challenge: userInfoChallenge("DPoP", "use_dpop_nonce") });
    throw error;
  }
  if (key === null) throw invalidProof("the DPoP scheme needs a DPoP proof (the DPoP header)");
  return { scheme: "DPoP", key };
}

async function answer(request: FastifyRequest, reply: FastifyReply, fromBody: string | undefined) {
  const { token, scheme } = presentedToken(request, fromBody);
  const presented: Presentation = scheme === "DPoP" ? await proven(request, reply, token) : { scheme };
  return userInfo(request.server.services, token, presented);
}

const userinfo: FastifyPluginAsyncTypebox = async (app) => {
  const response = { 200: UserInfoResponse, ...ERROR_RESPONSES };
  app.get(
    "/userinfo",
    { onRequest: noStore, schema: { summary: "OpenID Connect UserInfo", response } },
    (request, reply) => answer(request, reply, undefined),
  );
  app.post(
    "/userinfo",
    { onRequest: noStore, preValidation: optionalForm, schema: { summary: "OpenID Connect UserInfo", body: UserInfoForm, response } },
    (request, reply) => answer(request, reply, request.body.access_token),
  );
};

export default userinfo;
