// GET /openapi.json: an OpenAPI 3.1 document generated (@fastify/swagger) from the schemas of the routes
// themselves. Registered before every route, since it learns of them through an onRoute hook. What a
// schema cannot say is added here, from what the route itself declares: the bearer scheme of /admin,
// client authentication at the OAuth endpoints, and the media types its content-type hook accepts.
import { readFileSync } from "node:fs";
import { STATUS_CODES } from "node:http";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import fp from "fastify-plugin";
import { Type } from "typebox";
import { optionalJsonOrForm, requireForm, requireJson } from "./content-type.js";

const FORM = "application/x-www-form-urlencoded";
const JSON_TYPE = "application/json";

/** The media types a body may have, by the preValidation hook that checks them. */
const CONSUMES = new Map<unknown, string[]>([
  [requireForm, [FORM]],
  [requireJson, [JSON_TYPE]],
  [optionalJsonOrForm, [JSON_TYPE, FORM]],
]);

// Client authentication at the OAuth endpoints: HTTP Basic, or in the body (client_secret_post,
// private_key_jwt's client_assertion; a public client names itself with client_id): the empty
// requirement says that the header is not the only way.
const CLIENT_AUTH: Record<string, string[]>[] = [{ clientSecretBasic: [] }, {}];
const CLIENT_AUTH_PATHS = new Set(["/token", "/revoke", "/introspect", "/par"]);

// Summaries of routes whose schemas have none (a route's own `summary` wins).
const SUMMARIES: Record<string, string> = {
  "POST /token": "Token endpoint (RFC 6749): client_credentials, refresh_token, password",
  "POST /revoke": "Revoke an access or refresh token (RFC 7009)",
  "POST /introspect": "Introspect a token (RFC 7662)",
  "POST /login": "First-party sign-in: an access token, and a refresh token also set as an HttpOnly cookie",
  "POST /refresh": "First-party refresh, with the refresh token from the cookie or the body",
  "POST /logout": "End the sign-in (refresh-token family) of the cookie or the body, and clear the cookie",
  "GET /.well-known/jwks.json": "Public signing keys (RFC 7517)",
  "GET /.well-known/oauth-authorization-server": "Authorization server metadata (RFC 8414)",
  "GET /healthz": "Liveness: the process answers",
  "GET /readyz": "Readiness: the database answers and a key can sign",
  "GET /metrics": "Prometheus metrics",
  "GET /openapi.json": "This document",
  "GET /admin/clients": "List clients",
  "POST /admin/clients": "Register a client; its secret is shown once",
  "GET /admin/clients/:id": "Show a client",
  "PATCH /admin/clients/:id": "Change a client",
  "DELETE /admin/clients/:id": "Delete a client",
  "POST /admin/clients/:id/secret": "Rotate a client's secret, optionally keeping the old one valid for a grace period",
  "GET /admin/keys": "List signing keys",
  "POST /admin/keys/rotate": "Make a new signing key (active now with now: true)",
  "POST /admin/keys/:kid/retire": "Retire a signing key",
  "GET /admin/audit": "The audit log, newest first",
};

const RANGE_DESCRIPTIONS: Record<string, string> = {
  "4xx": "An error in the RFC 6749 §5.2 format: error (invalid_request, invalid_client, invalid_token, …) and error_description",
  "5xx": "server_error, or temporarily_unavailable (with Retry-After) while the database is away",
};

/** Each response described (OpenAPI requires it): by its schema's description, else by its status. */
function described(response: unknown): unknown {
  if (response === undefined || response === null) return response;
  return Object.fromEntries(
    Object.entries(response as Record<string, { description?: string }>).map(([status, schema]) => [
      status,
      schema.description !== undefined ? schema : { ...schema, description: RANGE_DESCRIPTIONS[status] ?? STATUS_CODES[Number(status)] ?? status },
    ]),
  );
}

function tagOf(url: string): string {
  if (url.startsWith("/admin/")) return "admin";
  if (url === "/login" || url === "/refresh" || url === "/logout") return "first-party";
  if (url === "/healthz" || url === "/readyz" || url === "/metrics" || url === "/openapi.json") return "operations";
  return "oauth";
}

const version = (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** The document's top level; `servers` is the issuer. Loose: its parts are what OpenAPI 3.1 says they are. */
const OpenApiDocument = Type.Object(
  { openapi: Type.String(), info: Type.Object({ title: Type.String(), version: Type.String() }), paths: Type.Record(Type.String(), Type.Unknown()) },
  { additionalProperties: true, description: "an OpenAPI 3.1 document" },
);

const openapi: FastifyPluginAsyncTypebox = async (app) => {
  const { issuer } = app.services.config;
  // Imported here, not at the top: CLI commands load app.ts without building an app (~50 ms saved).
  const swagger = (await import("@fastify/swagger")).default;
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "tessera",
        version,
        description: "OAuth 2.0 authorization server: the OAuth endpoints, first-party sign-in and the admin API.",
      },
      servers: [{ url: issuer }],
      tags: [
        { name: "oauth", description: "OAuth 2.0 endpoints, for clients and resource servers" },
        { name: "first-party", description: "Sign-in and refresh for tessera's own apps" },
        { name: "admin", description: "Clients, keys, users and the audit log; an admin token is required" },
        { name: "operations", description: "Health, metrics and this document" },
      ],
      components: {
        securitySchemes: {
          adminToken: {
            type: "http",
            scheme: "bearer",
            bearerFormat: "JWT",
            description: "An access token of this tessera with scope admin and the issuer as audience (client credentials).",
          },
          clientSecretBasic: { type: "http", scheme: "basic", description: "client_id and client_secret, form-urlencoded, as HTTP Basic (RFC 6749 §2.3.1)." },
        },
      },
    },
    transform: ({ schema, url, route }) => {
      const method = [route.method].flat()[0]!;
      const consumes = [route.preValidation].flat().map((hook) => CONSUMES.get(hook)).find((types) => types !== undefined);
      const summary = SUMMARIES[`${method} ${url}`];
      return {
        url,
        schema: {
          ...schema,
          response: described(schema?.response),
          tags: [tagOf(url)],
          ...(summary !== undefined && schema?.summary === undefined && { summary }),
          ...(consumes !== undefined && { consumes }),
          ...(url.startsWith("/admin/") && { security: [{ adminToken: [] }] }),
          ...(CLIENT_AUTH_PATHS.has(url) && { security: CLIENT_AUTH }),
        },
      };
    },
  });

  let body: string | undefined; // the routes are fixed once the app is ready: serialised once
  app.get("/openapi.json", { schema: { response: { 200: OpenApiDocument } } }, (_request, reply) => {
    body ??= JSON.stringify(app.swagger());
    // A string with a JSON type goes out as it is: the schema above describes it, and serialises nothing.
    void reply.header("cache-control", "public, max-age=300").type("application/json; charset=utf-8").send(body as never);
  });
};

export default fp(openapi, { name: "openapi" });
