// OAuth endpoints take application/x-www-form-urlencoded only (RFC 6749 §3.2, RFC 7009, RFC 7662).
// Fastify would happily parse JSON for them, so the media type is checked before validation.
import type { preValidationHookHandler } from "fastify";
import { InvalidRequest } from "../../errors/oauth.js";

const mediaType = (header: string | undefined) => header?.split(";")[0]?.trim().toLowerCase();

const FORM = "application/x-www-form-urlencoded";
const JSON_TYPE = "application/json";

export const requireJson: preValidationHookHandler = (request, _reply, done) => {
  if (mediaType(request.headers["content-type"]) !== JSON_TYPE) return done(new InvalidRequest("content type must be application/json"));
  done();
};

/** Admin API: a body, when there is one, is JSON; no body reads as an empty object. */
export const optionalJson: preValidationHookHandler = (request, _reply, done) => {
  if (request.body === undefined || request.body === null) {
    if (request.method === "POST") request.body = {};
    return done();
  }
  if (mediaType(request.headers["content-type"]) !== JSON_TYPE) return done(new InvalidRequest("content type must be application/json"));
  done();
};

/** For bodies that are optional: no body reads as no parameters; a body must be JSON or a form. */
export const optionalJsonOrForm: preValidationHookHandler = (request, _reply, done) => {
  if (request.body === undefined || request.body === null) {
    request.body = {};
    return done();
  }
  const type = mediaType(request.headers["content-type"]);
  if (type !== JSON_TYPE && type !== FORM) {
    return done(new InvalidRequest("content type must be application/json or application/x-www-form-urlencoded"));
  }
  done();
};

export const requireForm: preValidationHookHandler = (request, _reply, done) => {
  if (mediaType(request.headers["content-type"]) !== FORM) {
    return done(new InvalidRequest("content type must be application/x-www-form-urlencoded"));
  }
  done();
};
