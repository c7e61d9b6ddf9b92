// ClientService's own checks: the last guard before a client is stored, whoever calls it. The CLI and
// the admin API check their input's shape first, so these limits are met here by calling the service.
import t from "tap";
import { MAX_REDIRECT_URIS, MAX_TOKEN_TTL_SECONDS, type ClientInput } from "../../../src/domain/clients/client-service.js";
import type { ValidationError } from "../../../src/errors/internal.js";
import { buildTestApp } from "../../helpers/app.js";

const { app } = await buildTestApp(t);
const clients = app.services.clientAdmin;

const valid: ClientInput = {
  name: "Photo Printer",
  grantTypes: ["authorization_code", "refresh_token"],
  scopes: ["read"],
  audiences: ["https://api.example.test"],
  redirectUris: ["https://app.example.test/cb"],
};
const uris = (n: number) => Array.from({ length: n }, (_, i) => `https://app.example.test/cb/${i}`);

t.test("refused on create, each with its reason, and nothing stored", async (t) => {
  const cases: [string, Partial<ClientInput>, string, ValidationError["code"]][] = [
    ["no grant type", { grantTypes: [] }, "grant: at least one grant type is needed", "invalid_request"],
    ["no audience", { audiences: [] }, "audience: at least one audience is needed", "invalid_request"],
    [`${MAX_REDIRECT_URIS + 1} redirect URIs`, { redirectUris: uris(MAX_REDIRECT_URIS + 1) }, `redirect-uri: at most ${MAX_REDIRECT_URIS} redirect URIs`, "invalid_redirect_uri"],
    [`${MAX_REDIRECT_URIS + 1} post-logout redirect URIs`, { postLogoutRedirectUris: uris(MAX_REDIRECT_URIS + 1) }, `post-logout-redirect-uri: at most ${MAX_REDIRECT_URIS} URIs`, "invalid_redirect_uri"],
    ["a token lifetime of 0", { tokenTtlSeconds: 0 }, `token-ttl: must be an integer from 1 to ${MAX_TOKEN_TTL_SECONDS} seconds`, "invalid_request"],
    ["a token lifetime over a day", { tokenTtlSeconds: MAX_TOKEN_TTL_SECONDS + 1 }, `token-ttl: must be an integer from 1 to ${MAX_TOKEN_TTL_SECONDS} seconds`, "invalid_request"],
    ["a fractional token lifetime", { tokenTtlSeconds: 1.5 }, `token-ttl: must be an integer from 1 to ${MAX_TOKEN_TTL_SECONDS} seconds`, "invalid_request"],
  ];
  for (const [name, change, message, code] of cases) {
    await t.rejects(clients.create({ ...valid, ...change }), { name: "ValidationError", message, code }, name);
  }
  t.same(await clients.list(), [], "no client stored");
});

t.test("the limits themselves are accepted", async (t) => {
  const { client } = await clients.create({ ...valid, redirectUris: uris(MAX_REDIRECT_URIS), postLogoutRedirectUris: uris(MAX_REDIRECT_URIS), tokenTtlSeconds: MAX_TOKEN_TTL_SECONDS });
  t.equal(client.redirectUris.length, MAX_REDIRECT_URIS);
  t.equal(client.postLogoutRedirectUris.length, MAX_REDIRECT_URIS);
  t.equal(client.tokenTtlSeconds, MAX_TOKEN_TTL_SECONDS);
  const short = await clients.update(client.id, { tokenTtlSeconds: 1 });
  t.equal(short.tokenTtlSeconds, 1);
});

t.test("refused on update, the client left as it was", async (t) => {
  const { client } = await clients.create(valid);
  await t.rejects(clients.update(client.id, { grantTypes: [] }), { message: "grant: at least one grant type is needed" });
  await t.rejects(clients.update(client.id, { audiences: [] }), { message: "audience: at least one audience is needed" });
  await t.rejects(clients.update(client.id, { postLogoutRedirectUris: uris(MAX_REDIRECT_URIS + 1) }), { message: `post-logout-redirect-uri: at most ${MAX_REDIRECT_URIS} URIs` });
  await t.rejects(clients.update(client.id, { tokenTtlSeconds: -60 }), { message: `token-ttl: must be an integer from 1 to ${MAX_TOKEN_TTL_SECONDS} seconds` });
  t.same(await clients.show(client.id), client);
});
