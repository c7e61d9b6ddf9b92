// GET /openapi.json: a valid OpenAPI 3.1 document (checked against the OpenAPI schemas by
// @seriousme/openapi-schema-validator) that holds every route the app registered, seen by an onRoute
// hook of the test's own, and describes the admin API and the OAuth endpoints.
import { Validator } from "@seriousme/openapi-schema-validator";
import Fastify, { type RouteOptions } from "fastify";
import t from "tap";
import { buildApp } from "../../src/app.js";
import openapi from "../../src/http/plugins/openapi.js";
import { testConfig } from "../helpers/app.js";

type Operation = {
  summary?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  requestBody?: { required: boolean; content: Record<string, { schema: { type?: string; required?: string[]; properties?: Record<string, unknown> } }> };
  parameters?: { in: string; name: string }[];
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
};
type Document = {
  openapi: string;
  servers: { url: string }[];
  components: { securitySchemes: Record<string, Record<string, string>> };
  paths: Record<string, Record<string, Operation>>;
};

const routes: RouteOptions[] = [];
// CORS on, so that its preflight route is among the registered ones too.
const config = await testConfig(t, { CORS_ORIGINS: "https://app.example.test" });
const app = await buildApp(config, { onRoute: (route) => void routes.push(route) });
t.teardown(() => app.close());

const res = await app.inject({ method: "GET", url: "/openapi.json" });
const doc = res.json() as Document;

/** Fastify's "/admin/users/:id" as OpenAPI writes it. */
const openapiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

/** Every operation in the document, as "METHOD /path". */
const operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));

t.test("served as JSON, cacheable", async (t) => {
  t.equal(res.statusCode, 200);
  t.equal(res.headers["content-type"], "application/json; charset=utf-8");
  t.equal(res.headers["cache-control"], "public, max-age=300");
  t.same((await app.inject({ method: "GET", url: "/openapi.json" })).json(), doc, "the same document every time");
});

t.test("a valid OpenAPI 3.1 document", async (t) => {
  t.equal(doc.openapi, "3.1.0");
  const validator = new Validator();
  const result = await validator.validate(structuredClone(doc));
  t.same(result.errors ?? [], [], "no schema errors");
  t.equal(result.valid, true);
  t.equal(validator.version, "3.1");
  t.same(doc.servers, [{ url: config.issuer }]);
});

t.test("every registered route is in it, and nothing else", async (t) => {
  // Left out on purpose, hidden from the document: the CORS preflight route answers OPTIONS for any
  // path (it is not an operation of its own), and /par's other methods only answer 405 (RFC 9126 §2.3).
  // HEAD routes are the ones Fastify adds for every GET.
  const hidden = routes.filter((r) => (r.schema as { hide?: boolean } | undefined)?.hide === true);
  t.same(hidden.map((r) => `${[r.method].flat().join(",")} ${r.url}`).sort(), ["GET,PUT,PATCH,DELETE /par", "HEAD /par", "OPTIONS *"], "the hidden routes");
  const registered = routes
    .filter((r) => !hidden.includes(r))
    .flatMap((r) => [r.method].flat().map((method) => ({ method, url: r.url })))
    .filter(({ method }) => method !== "HEAD")
    .map(({ method, url }) => `${method} ${openapiPath(url)}`);
  t.ok(registered.length >= 25, `${registered.length} routes seen`);
  t.same([...operations].sort(), [...new Set(registered)].sort());
  t.ok(routes.some((r) => r.method === "OPTIONS" && r.url === "*"), "the preflight route was registered (and left out on purpose)");
  t.ok(registered.includes("GET /metrics"), "routes of plugins registered before the others are there too");
  t.ok(registered.includes("GET /openapi.json"));
});

t.test("the admin API: bearer scheme, request bodies, responses", async (t) => {
  t.same(doc.components.securitySchemes.adminToken, {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "An access token of this tessera with scope admin and the issuer as audience (client credentials).",
  });
  const admin = operations.filter((op) => op.split(" ")[1]!.startsWith("/admin/"));
  t.ok(admin.length >= 17, `${admin.length} admin operations`);
  for (const op of admin) {
    const [method, path] = op.split(" ") as [string, string];
    const operation = doc.paths[path]![method.toLowerCase()]!;
    t.same(operation.security, [{ adminToken: [] }], `${op}: bearer`);
    t.same(operation.tags, ["admin"], `${op}: tag`);
    const success = Object.keys(operation.responses).filter((s) => s.startsWith("2"));
    t.equal(success.length, 1, `${op}: one success status`);
    if (success[0] !== "204") t.ok(operation.responses[success[0]!]!.content?.["application/json"]?.schema, `${op}: success schema`);
    t.ok(operation.responses["4XX"]?.content?.["application/json"]?.schema, `${op}: error schema`);
    t.match(operation.responses["4XX"]!.description, /RFC 6749 §5\.2/, `${op}: error description`);
  }

  for (const path of ["/admin/users", "/admin/users/{id}", "/admin/users/{id}/sessions"]) {
    for (const [method, operation] of Object.entries(doc.paths[path]!)) t.type(operation.summary, "string", `${method} ${path}: summary`);
  }
  t.equal(doc.paths["/admin/clients"]!.get!.summary, "List clients", "routes without a summary of their own get one from the plugin's table");

  const patch = doc.paths["/admin/users/{id}"]!.patch!;
  t.same(Object.keys(patch.requestBody!.content), ["application/json"]);
  t.same(Object.keys(patch.requestBody!.content["application/json"]!.schema.properties!).sort(), ["email", "email_verified", "enabled", "name", "password", "username"]);
  t.match(patch.parameters, [{ in: "path", name: "id" }]);
  const create = doc.paths["/admin/clients"]!.post!;
  t.same(create.requestBody!.content["application/json"]!.schema.required, ["grant_types", "audiences"], "client_name (or its older spelling, name) is checked by the route");
  t.same(Object.keys(doc.paths["/admin/users/{id}"]!.delete!.responses).sort(), ["204", "4XX", "5XX"]);
  t.notOk(doc.paths["/admin/users/{id}"]!.delete!.responses["204"]!.content, "204 has no body");
});

t.test("the OAuth endpoints: form bodies, client authentication, responses", async (t) => {
  t.same(doc.components.securitySchemes.clientSecretBasic, {
    type: "http",
    scheme: "basic",
    description: "client_id and client_secret, form-urlencoded, as HTTP Basic (RFC 6749 §2.3.1).",
  });
  for (const path of ["/token", "/revoke", "/introspect"]) {
    const op = doc.paths[path]!.post!;
    t.same(Object.keys(op.requestBody!.content), ["application/x-www-form-urlencoded"], `${path}: form body`);
    t.same(op.security, [{ clientSecretBasic: [] }, {}], `${path}: Basic, or credentials in the body`);
    t.same(op.tags, ["oauth"]);
    t.ok(op.responses["200"]?.content?.["application/json"], `${path}: 200 schema`);
    t.ok(op.responses["4XX"]?.content?.["application/json"], `${path}: error schema`);
  }
  t.same(doc.paths["/token"]!.post!.requestBody!.content["application/x-www-form-urlencoded"]!.schema.required, ["grant_type"]);
  t.same(Object.keys(doc.paths["/login"]!.post!.requestBody!.content), ["application/json"]);
  t.same(Object.keys(doc.paths["/refresh"]!.post!.requestBody!.content), ["application/json", "application/x-www-form-urlencoded"]);
  t.same(Object.keys(doc.paths["/.well-known/jwks.json"]!.get!.responses).sort(), ["200", "304"]);
  t.ok(doc.paths["/.well-known/jwks.json"]!.get!.responses["200"]!.content?.["application/json"]);
  t.ok(doc.paths["/.well-known/oauth-authorization-server"]!.get!.responses["200"]!.content?.["application/json"]);
});

t.test("the JWKS and the metadata are answered as before (their schemas serialise nothing)", async (t) => {
  const jwks = await app.inject({ method: "GET", url: "/.well-known/jwks.json" });
  t.equal(jwks.body, app.services.keys.jwks.body);
  const metadata = await app.inject({ method: "GET", url: "/.well-known/oauth-authorization-server" });
  t.match(metadata.json(), { issuer: config.issuer, response_modes_supported: ["query"] }, "members outside the schema are kept");
});

t.test("a response with no description, range description or reason phrase is described by its status key", async (t) => {
  // No route of tessera's declares such a status today; OpenAPI requires every response to have a description.
  const plain = Fastify();
  t.teardown(() => plain.close());
  plain.decorate("services", { config: { issuer: "https://tessera.test" } } as never);
  await plain.register(openapi);
  plain.get("/x", { schema: { response: { 200: { type: "object" }, "2xx": { type: "object" }, 299: { type: "object" } } } }, async () => ({}));
  const document = (await plain.inject({ method: "GET", url: "/openapi.json" })).json() as Document;
  const responses = document.paths["/x"]!.get!.responses;
  t.same(Object.fromEntries(Object.entries(responses).map(([status, response]) => [status, response.description])), { 200: "OK", "2XX": "2xx", 299: "299" });
  t.equal((await new Validator().validate(structuredClone(document))).valid, true);
});
