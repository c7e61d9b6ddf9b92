// requireScopes against the small test issuer: the scopes of a token without a scope claim, and a
// route that needs scopes but was opted out of the token check.
import t from "tap";
import Fastify from "fastify";
import resourceServer from "../src/index.js";
import { AUDIENCE, startIssuer } from "./helpers/issuer.js";

t.test("requireScopes", async (t) => {
  const issuer = await startIssuer(t);
  const api = Fastify();
  t.teardown(() => api.close());
  await api.register(resourceServer, { issuer: issuer.issuer, audience: AUDIENCE });
  api.get("/things", { preHandler: api.requireScopes("read") }, async () => ({ ok: true }));
  // A configuration mistake: the token check is off, yet the route needs a scope.
  api.get("/open", { config: { accessToken: false }, preHandler: api.requireScopes("read") }, async () => ({ ok: true }));

  t.test("a token without a scope claim has no scope: 403 insufficient_scope", async (t) => {
    const token = await issuer.sign({ scope: undefined });
    const res = await api.inject({ method: "GET", url: "/things", headers: { authorization: `Bearer ${token}` } });
    t.equal(res.statusCode, 403);
    t.equal(res.headers["www-authenticate"], 'Bearer error="insufficient_scope", error_description="the token lacks scope read", scope="read"');
    t.same(res.json(), { error: "insufficient_scope", error_description: "the token lacks scope read" });
  });

  t.test("a route opted out of the token check still refuses when it needs scopes: 401 invalid_token", async (t) => {
    const token = await issuer.sign();
    for (const headers of [{}, { authorization: `Bearer ${token}` }]) {
      const res = await api.inject({ method: "GET", url: "/open", headers });
      t.equal(res.statusCode, 401, "the token is never read, so it cannot grant the scope");
      t.equal(res.headers["www-authenticate"], 'Bearer error="invalid_token", error_description="the route needs an access token"');
      t.same(res.json(), { error: "invalid_token", error_description: "the route needs an access token" });
    }
  });
});
