// pino options: what a request log line holds, and what it must never hold.
import type { FastifyServerOptions } from "fastify";
import type { DestinationStream } from "pino";
import type { LogLevel } from "../config/schema.js";

// Defence in depth: nothing below logs headers or bodies, but an error object or a future log line
// might carry one of these, and they are credentials.
const REDACT = [
  "req.headers.authorization",
  "req.headers.cookie",
  'res.headers["set-cookie"]',
  "headers.authorization",
  "headers.cookie",
  "body",
  "*.client_secret",
  "*.clientSecret",
  "*.password",
  "*.refresh_token",
  "*.access_token",
  "*.token",
  "*.privateKey",
];

export function loggerOptions(level: LogLevel, stream?: DestinationStream): FastifyServerOptions["logger"] {
  return {
    level,
    ...(stream && { stream }),
    redact: { paths: REDACT, censor: "[redacted]" },
    serializers: {
      // The path only: a query string is the client's to fill, and may carry a token.
      req: (req: { method: string; url: string; ip?: string }) => ({
        method: req.method,
        url: req.url.split("?")[0],
        remoteAddress: req.ip,
      }),
    },
  };
}
