// /.well-known/openid-configuration (OpenID Connect Discovery 1.0 §3): the RFC 8414 document plus the
// OpenID fields, equal to it on every field they share (one source), with and without status lists.
import t from "tap";
import { buildTestApp } from "../../helpers/app.js";

const OPENID = "/.well-known/openid-configuration";
const RFC8414 = "/.well-known/oauth-authorization-server";

const OPENID_ONLY = ["userinfo_endpoint", "end_session_endpoint", "id_token_signing_alg_values_supported", "subject_types_supported", "scopes_supported", "claims_supported"];

for (const STATUS_LIST of ["on", "off"]) {
  t.test(`STATUS_LIST=${STATUS_LIST}: every field of the RFC 8414 document is in the OpenID one, equal`, async (t) => {
    const { app } = await buildTestApp(t, { STATUS_LIST });
    const oauth = (await app.inject({ method: "GET", url: RFC8414 })).json() as Record<string, unknown>;
    const res = await app.inject({ method: "GET", url: OPENID });
    t.equal(res.statusCode, 200);
    t.match(res.headers["content-type"], /^application\/json/);
    t.equal(res.headers["cache-control"], "public, max-age=3600");
    const openid = res.json() as Record<string, unknown>;
    for (const [field, value] of Object.entries(oauth)) t.same(openid[field], value, field);
    t.same(Object.keys(openid).filter((k) => !(k in oauth)).sort(), [...OPENID_ONLY].sort(), "and only the OpenID fields besides");
    t.equal("status_list_aggregation_endpoint" in openid, STATUS_LIST === "on");
  });
}

t.test("the OpenID fields", async (t) => {
  const { app } = await buildTestApp(t);
  const openid = (await app.inject({ method: "GET", url: OPENID })).json() as Record<string, unknown>;
  t.equal(openid.issuer, "https://tessera.test");
  t.equal(openid.userinfo_endpoint, "https://tessera.test/userinfo");
  t.equal(openid.end_session_endpoint, "https://tessera.test/end-session");
  t.strictSame(openid.id_token_signing_alg_values_supported, ["RS256", "PS256", "ES256", "EdDSA"], "RS256 among them (Discovery §3: MUST)");
  t.strictSame(openid.subject_types_supported, ["public"]);
  t.strictSame(openid.scopes_supported, ["openid", "profile", "email"]);
  t.strictSame(openid.claims_supported, ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "name", "preferred_username", "email", "email_verified"]);
  t.strictSame(openid.response_types_supported, ["code"]);
});

t.test("CORS: a listed origin may read it", async (t) => {
  const { app } = await buildTestApp(t, { CORS_ORIGINS: "https://spa.example.test" });
  const res = await app.inject({ method: "GET", url: OPENID, headers: { origin: "https://spa.example.test" } });
  t.equal(res.headers["access-control-allow-origin"], "https://spa.example.test");
});
