// pino options: what a request log line holds, and what it must never hold.
import type { FastifyInstance } from "fastify";
import type { LoggerOptions } from "pino";
import type { LogLevel } from "../config/schema.js";

// Credentials that a logged object may carry at its top level or in an error object.
// Explicit paths: pino's leading wildcards ("*.x") cost ~3 µs on every request's child logger.
const SECRET_FIELDS = ["client_secret", "clientSecret", "password", "refresh_token", "access_token", "token", "privateKey", "client_assertion"];
// Request parameters that are credentials (RFC 6749, 7009, 7521, 7523, 7636, the sign-in body, and
// the pages' forms: their CSRF token, which with the browser's cookie answers for the interaction).
// Request bodies are logged at trace ("request body") and in error logs, with these censored.
const BODY_SECRETS = [...SECRET_FIELDS, "code", "code_verifier", "assertion", "subject_token", "actor_token", "new_password", "csrf_token"];
const REDACT = [
  "req.headers.authorization",
  'req.headers["proxy-authorization"]',
  "req.headers.cookie",
  'res.headers["set-cookie"]',
  "headers.authorization",
  "headers.cookie",
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((field) => `err.${field}`),
  ...BODY_SECRETS.map((field) => `body.${field}`),
  ...BODY_SECRETS.map((field) => `req.body.${field}`),
];

export function loggerOptions(level: LogLevel): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT, censor: "[redacted]" },
    serializers: {
      // The path only: a query string is the client's to fill, and may carry a token. Headers, and
      // the body once parsed (error logs), with their credentials censored by REDACT.
      req: (req: { method: string; url: string; ip?: string; headers?: unknown; body?: unknown }) => ({
        method: req.method,
        url: req.url.split("?")[0],
        remoteAddress: req.ip,
        headers: req.headers,
        ...(req.body === undefined ? {} : { body: req.body }),
      }),
    },
  };
}

/**
 * LOG_LEVEL=trace: one "request body" line per request with a body, as parsed and before
 * validation (what the client sent, for debugging a 400), its credentials censored by REDACT.
 */
export function logRequestBodies(app: FastifyInstance): void {
  app.addHook("preValidation", async (request) => {
    if (request.body !== undefined) request.log.trace({ body: request.body }, "request body");
  });
}
