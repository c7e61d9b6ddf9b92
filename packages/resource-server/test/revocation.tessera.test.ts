// Revocation seen without introspection, end to end against a real tessera over HTTP: its tokens
// carry a status list entry; POST /revoke sets it; the plugin refuses the token once its cached
// list is older than the list's ttl, and 100 concurrent requests then fetch the list once.
import t from "tap";
import Fastify from "fastify";
import { decodeJwt } from "jose";
import resourceServer, { createVerifier } from "../src/index.js";
import { AUDIENCE, startTessera } from "./helpers/tessera.js";

t.test("a token revoked at tessera is refused once the resource server's list is older than its ttl", async (t) => {
  const tessera = await startTessera(t, { STATUS_LIST_TTL: "30" });
  let nowMs = Date.now();
  const listFetches: string[] = [];
  const verifier = createVerifier({
    issuer: tessera.issuer,
    audience: AUDIENCE,
    now: () => nowMs,
    fetch: (input, init) => {
      if (String(input).includes("/statuslists/")) listFetches.push(String(input));
      return fetch(input, init);
    },
  });
  const api = Fastify();
  t.teardown(() => api.close());
  await api.register(resourceServer, { issuer: tessera.issuer, audience: AUDIENCE, verifier });
  api.get("/things", async (request) => ({ jti: request.accessToken?.jti }));
  const get = (token: string) => api.inject({ method: "GET", url: "/things", headers: { authorization: `Bearer ${token}` } });

  const revoked = await tessera.token();
  const kept = await tessera.token();
  const { status } = decodeJwt(revoked) as { status: { status_list: { idx: number; uri: string } } };
  t.match(status.status_list.uri, new RegExp(`^${tessera.issuer}/statuslists/\\d+$`), "tessera's token points into its own list");
  t.equal((await get(revoked)).statusCode, 200);
  t.equal(listFetches.length, 1);

  t.equal(await tessera.revoke(revoked), 200);
  nowMs += 29_000;
  t.equal((await get(revoked)).statusCode, 200, "within the list's ttl the cached list still holds it valid");
  t.equal(listFetches.length, 1);

  nowMs += 2_000;
  const requests = Array.from({ length: 100 }, (_, i) => get(i % 2 === 0 ? revoked : kept));
  const answers = await Promise.all(requests);
  t.equal(listFetches.length, 2, "after the ttl, 100 concurrent requests fetch the list once");
  t.same(
    answers.map((res) => res.statusCode),
    Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 401 : 200)),
  );
  const refused = answers[0]!;
  t.equal(refused.headers["www-authenticate"], 'Bearer error="invalid_token", error_description="the token has been revoked"');
  t.same(refused.json(), { error: "invalid_token", error_description: "the token has been revoked" });
  t.same(answers[1]!.json(), { jti: decodeJwt(kept).jti }, "another token of the same list stays valid");
});

t.test("with STATUS_LIST=off tokens carry no status claim and verify offline", async (t) => {
  const tessera = await startTessera(t, { STATUS_LIST: "off" });
  const token = await tessera.token();
  t.equal(decodeJwt(token).status, undefined);
  t.equal((await createVerifier({ issuer: tessera.issuer, audience: AUDIENCE }).verify(token)).jti, decodeJwt(token).jti);
  const strict = createVerifier({ issuer: tessera.issuer, audience: AUDIENCE, requireStatus: true });
  await t.rejects(strict.verify(token), { code: "invalid_token", message: "the token has no status list entry" });
});
