// OAuth endpoints take application/x-www-form-urlencoded only (RFC 6749 §3.2, RFC 7009, RFC 7662).
// Fastify would happily parse JSON for them, so the media type is checked before validation.
import type { preValidationHookHandler } from "fastify";
import { InvalidRequest } from "../../errors/oauth.js";

const mediaType = (header: string | undefined) => header?.split(";")[0]?.trim().toLowerCase();

export const requireForm: preValidationHookHandler = (request, _reply, done) => {
  if (mediaType(request.headers["content-type"]) !== "application/x-www-form-urlencoded") {
    return done(new InvalidRequest("content type must be application/x-www-form-urlencoded"));
  }
  done();
};
