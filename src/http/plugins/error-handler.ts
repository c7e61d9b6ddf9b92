// The one place that writes error bodies: RFC 6749 §5.2 JSON for every failure, never Fastify's shape.
import type { Duplex } from "node:stream";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { isDatabaseUnavailable, NotFoundError, ValidationError } from "../../errors/internal.js";
import { OAuthError, SlowDown, type OAuthErrorCode } from "../../errors/oauth.js";
import { answerWhileDraining, bodyUnread } from "../lingering-close.js";
import { describeSchemaError, type RequestSchema } from "../schemas/expected.js";
import { securityHeaders } from "../security-headers.js";

const SERVER_ERROR = "the server could not complete the request";

// Descriptions for Fastify's own request errors (they are the client's fault, so invalid_request).
const FASTIFY_ERRORS: Record<string, { status: number; description: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 400, description: "unsupported content type" },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, description: "Content-Length does not match the body" },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, description: "empty JSON body" },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, description: "request body too large" },
};

/** What the request part at fault must be, naming the field (Ajv's own messages name schema paths). */
function describeValidation(error: FastifyError, request: FastifyRequest): string {
  // Fastify sets validationContext on every error it gives a `validation` (wrapValidationError).
  const context = error.validationContext!;
  const schema = (request.routeOptions.schema as Record<string, RequestSchema | undefined> | undefined)?.[context];
  const data: unknown = { body: request.body, querystring: request.query, params: request.params, headers: request.headers }[context];
  return describeSchemaError(error.validation?.[0], context, schema, data);
}

// RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E (no quote, no
// backslash, ASCII only). Descriptions are written to fit; this catches what quotes the client.
const NOT_IN_DESCRIPTION = /[^\x20\x21\x23-\x5B\x5D-\x7E]/g;

const CHALLENGES: Partial<Record<OAuthErrorCode, string>> = {
  invalid_client: 'Basic realm="tessera", charset="UTF-8"',
  // RFC 6750 §3: the resource-server errors of /admin carry a Bearer challenge.
  invalid_token: 'Bearer realm="tessera", error="invalid_token"',
  insufficient_scope: 'Bearer realm="tessera", error="insufficient_scope", scope="admin"',
};

// A code's usual challenge goes with 401 and 403 only: a 400 invalid_client (/login) carries none.
function send(reply: FastifyReply, status: number, code: OAuthErrorCode, description?: string, challenge = status === 401 || status === 403 ? CHALLENGES[code] : undefined) {
  reply.server.metrics?.oauthError(code);
  if (challenge) reply.header("www-authenticate", challenge);
  reply.code(status).header("cache-control", "no-store").header("pragma", "no-cache").type("application/json; charset=utf-8");
  const body = description === undefined ? { error: code } : { error: code, error_description: description.replace(NOT_IN_DESCRIPTION, "?") };
  const request = reply.request.raw;
  if (!bodyUnread(request)) return reply.send(body);
  // Answered before the body was read (413, or refused before parsing): lingering-close.ts.
  const text = JSON.stringify(body);
  return reply.header("content-length", Buffer.byteLength(text)).send(answerWhileDraining(request, reply.raw, text));
}

/**
 * Requests Node's HTTP parser refuses (bad Content-Length, oversized headers, garbage) never reach
 * Fastify's handlers or hooks; this answers them on the raw socket, in the same OAuth shape and with
 * the same security headers as every other answer.
 */
export function clientErrorHandler(https: boolean): (error: Error & { code?: string }, socket: Duplex) => void {
  const security = Object.entries(securityHeaders(https)).map(([name, value]) => `${name}: ${value}\r\n`).join("");
  const body = JSON.stringify({ error: "invalid_request", error_description: "malformed HTTP request" });
  return (error, socket) => {
    if (error.code === "ECONNRESET" || !socket.writable) return;
    const [status, reason] =
      error.code === "HPE_HEADER_OVERFLOW" ? [431, "Request Header Fields Too Large"]
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? [408, "Request Timeout"]
      : [400, "Bad Request"];
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\n${security}` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  };
}

/**
 * Errors Fastify's router raises before any route runs (bad percent-encoding, over-long parameters).
 * No hook has run either, so the security headers are set here.
 */
export function frameworkErrorHandler(https: boolean): (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  const security = securityHeaders(https);
  return (error, _request, reply) => {
    reply.headers(security);
    if (error.code === "FST_ERR_MAX_PARAM_LENGTH") send(reply, 414, "invalid_request", "a path parameter is too long");
    else send(reply, 400, "invalid_request", "malformed URL");
  };
}

export default fp(
  async (app) => {
    app.setErrorHandler((error: FastifyError, request, reply) => {
      if (error instanceof SlowDown) reply.header("retry-after", String(error.retryAfterSeconds));
      if (error instanceof OAuthError) return send(reply, error.status, error.code, error.description, error.challenge);
      // Management errors (admin API): the caller's input is wrong, or the thing is not there.
      if (error instanceof ValidationError) return send(reply, 400, error.code, error.message);
      if (error instanceof NotFoundError) return send(reply, 404, "invalid_request", error.message);
      if (error.validation) return send(reply, 400, "invalid_request", describeValidation(error, request));
      const known = FASTIFY_ERRORS[error.code];
      if (known) return send(reply, known.status, "invalid_request", known.description);
      if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
        return send(reply, error.statusCode, "invalid_request", "malformed request");
      }
      if (isDatabaseUnavailable(error)) {
        request.server.services.log.warn({ err: error, reqId: request.id, req: request }, "database unavailable");
        reply.header("retry-after", "2");
        return send(reply, 503, "temporarily_unavailable", "the database is unavailable; retry shortly");
      }
      request.server.services.log.error({ err: error, reqId: request.id, req: request }, "unhandled error");
      return send(reply, 500, "server_error", SERVER_ERROR);
    });

    app.setNotFoundHandler((_request, reply) => send(reply, 404, "invalid_request", "no such endpoint"));
  },
  { name: "error-handler" },
);
