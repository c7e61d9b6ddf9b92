// The admin API's two sender-constraint settings of a client: dpop_bound_access_tokens (RFC 9449
// §5.2) and require_pushed_authorization_requests (RFC 9126 §6). Off unless set, set at create,
// changed by PATCH (audited), answered by GET, described in /openapi.json, and booleans only.
import t from "tap";
import { basic, buildTestApp, form } from "../../helpers/app.js";
import { expectOAuthError, FORM } from "../../helpers/oauth.js";

const API = "https://api.example.test";

const { app, config, createClient } = await buildTestApp(t);
const admin = await createClient({ scopes: ["admin"], audiences: [config.issuer] });
const adminToken = (
  await app.inject({ method: "POST", url: "/token", headers: { ...FORM, authorization: basic(admin.clientId, admin.clientSecret) }, payload: form({ grant_type: "client_credentials", scope: "admin" }) })
).json().access_token as string;

const call = (method: "GET" | "POST" | "PATCH", url: string, payload?: Record<string, unknown>) =>
  app.inject({ method, url, headers: { authorization: `Bearer ${adminToken}` }, ...(payload !== undefined && { payload }) });

const BASE = { client_name: "x", grant_types: ["client_credentials"], audiences: [API] };

t.test("off unless set; set at create and answered by GET", async (t) => {
  const plain = await call("POST", "/admin/clients", BASE);
  t.equal(plain.statusCode, 201);
  t.match(plain.json(), { dpop_bound_access_tokens: false, require_pushed_authorization_requests: false });

  const bound = await call("POST", "/admin/clients", { ...BASE, dpop_bound_access_tokens: true, require_pushed_authorization_requests: true });
  t.equal(bound.statusCode, 201);
  t.match(bound.json(), { dpop_bound_access_tokens: true, require_pushed_authorization_requests: true });
  const id = bound.json().client_id as string;
  t.match((await call("GET", `/admin/clients/${id}`)).json(), { dpop_bound_access_tokens: true, require_pushed_authorization_requests: true });
  const stored = await app.services.db.client.findUniqueOrThrow({ where: { id } });
  t.equal(stored.dpopBoundAccessTokens, true);
  t.equal(stored.requirePushedAuthorizationRequests, true);
});

t.test("PATCH changes each on its own and audits the field", async (t) => {
  const id = (await call("POST", "/admin/clients", BASE)).json().client_id as string;
  const dpop = await call("PATCH", `/admin/clients/${id}`, { dpop_bound_access_tokens: true });
  t.equal(dpop.statusCode, 200);
  t.match(dpop.json(), { dpop_bound_access_tokens: true, require_pushed_authorization_requests: false });
  const par = await call("PATCH", `/admin/clients/${id}`, { require_pushed_authorization_requests: true });
  t.match(par.json(), { dpop_bound_access_tokens: true, require_pushed_authorization_requests: true });
  const off = await call("PATCH", `/admin/clients/${id}`, { dpop_bound_access_tokens: false, require_pushed_authorization_requests: false });
  t.match(off.json(), { dpop_bound_access_tokens: false, require_pushed_authorization_requests: false });
  t.equal((await app.services.clientAdmin.show(id)).dpopBoundAccessTokens, false);

  const events = (await call("GET", "/admin/audit?limit=10")).json().events as { action: string; target: string; details: { fields: string[] } }[];
  const updates = events.filter((e) => e.action === "client.update" && e.target === `client:${id}`).map((e) => e.details.fields);
  t.same(updates, [["dpopBoundAccessTokens", "requirePushedAuthorizationRequests"], ["requirePushedAuthorizationRequests"], ["dpopBoundAccessTokens"]], "newest first");
});

t.test("anything but a boolean is invalid_request, and nothing changes", async (t) => {
  const id = (await call("POST", "/admin/clients", BASE)).json().client_id as string;
  for (const field of ["dpop_bound_access_tokens", "require_pushed_authorization_requests"]) {
    const created = await call("POST", "/admin/clients", { ...BASE, [field]: "yes" });
    expectOAuthError(t, created, 400, "invalid_request");
    t.match(created.json().error_description, field);
    expectOAuthError(t, await call("PATCH", `/admin/clients/${id}`, { [field]: 1 }), 400, "invalid_request");
  }
  t.match((await call("GET", `/admin/clients/${id}`)).json(), { dpop_bound_access_tokens: false, require_pushed_authorization_requests: false });
});

t.test("/openapi.json describes both fields in the client and in the create and update bodies", async (t) => {
  const doc = (await app.inject({ method: "GET", url: "/openapi.json" })).json();
  const client = doc.paths["/admin/clients/{id}"];
  const shape = (schema: { properties: Record<string, { type?: string }> }) => ({
    dpop: schema.properties.dpop_bound_access_tokens?.type,
    par: schema.properties.require_pushed_authorization_requests?.type,
  });
  t.same(shape(client.get.responses["200"].content["application/json"].schema), { dpop: "boolean", par: "boolean" });
  t.same(shape(client.patch.requestBody.content["application/json"].schema), { dpop: "boolean", par: "boolean" });
  t.same(shape(doc.paths["/admin/clients"].post.requestBody.content["application/json"].schema), { dpop: "boolean", par: "boolean" });
});
