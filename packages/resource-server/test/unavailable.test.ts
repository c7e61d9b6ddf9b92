// When the authorization server cannot be reached or answers nonsense, the token is not at fault:
// verify rejects with temporarily_unavailable and the plugin answers 503 with Retry-After, never
// invalid_token (a client would throw a good token away) and never a 500.
import t, { type Test } from "tap";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Fastify from "fastify";
import resourceServer, { AccessTokenError, createVerifier } from "../src/index.js";
import { AUDIENCE, startIssuer } from "./helpers/issuer.js";

/** A server answering each path with a handler; unknown paths 404. */
async function serve(t: Test, routes: Record<string, (res: ServerResponse, origin: string) => void>) {
  let origin = "";
  const server = createServer((req, res) => {
    const route = routes[req.url ?? ""];
    if (route) return route(res, origin);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return origin;
}

const unavailable = async (t: Test, promise: Promise<unknown>, message: RegExp) => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(error instanceof AccessTokenError);
  t.match(error, { code: "temporarily_unavailable", status: 503, message });
};

const json = (body: unknown) => (res: ServerResponse) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));

t.test("metadata that is not JSON, or has no http(s) jwks_uri, is not used", async (t) => {
  let origin = await serve(t, { "/.well-known/oauth-authorization-server": (res) => res.writeHead(200).end("<html>") });
  await unavailable(t, createVerifier({ issuer: origin, audience: AUDIENCE }).ready(), /did not answer JSON/);
  origin = await serve(t, { "/.well-known/oauth-authorization-server": (res, o) => json({ issuer: o, jwks_uri: "file:///etc/passwd" })(res) });
  await unavailable(t, createVerifier({ issuer: origin, audience: AUDIENCE }).ready(), /has no http\(s\) jwks_uri/);
  origin = await serve(t, { "/.well-known/oauth-authorization-server": (res, o) => json({ issuer: o, jwks_uri: "not a url" })(res) });
  await unavailable(t, createVerifier({ issuer: origin, audience: AUDIENCE }).ready(), /has no http\(s\) jwks_uri/);
  origin = await serve(t, { "/.well-known/oauth-authorization-server": (res, o) => json({ issuer: o })(res) });
  await unavailable(t, createVerifier({ issuer: origin, audience: AUDIENCE }).ready(), /has no http\(s\) jwks_uri/);
});

t.test("an issuer nobody listens on", async (t) => {
  const origin = await serve(t, {});
  const verifier = createVerifier({ issuer: "http://127.0.0.1:9", audience: AUDIENCE, timeoutMs: 2000 });
  await unavailable(t, verifier.verify("a.b.c"), /could not fetch http:\/\/127.0.0.1:9\/.well-known\/oauth-authorization-server/);
  await unavailable(t, createVerifier({ issuer: origin, audience: AUDIENCE }).ready(), /answered 404/);
});

t.test("a JWKS that fails to load", async (t) => {
  const issuer = await startIssuer(t);
  const token = await issuer.sign();
  const origin = await serve(t, {
    "/.well-known/oauth-authorization-server": (res, o) => json({ issuer: o, jwks_uri: `${o}/jwks` })(res),
    "/jwks": (res) => res.writeHead(500).end(),
  });
  await unavailable(t, createVerifier({ issuer: origin, audience: AUDIENCE }).verify(token), /the issuer's keys could not be fetched/);
});

t.test("a status list response larger than the limit is not read to its end", async (t) => {
  const issuer = await startIssuer(t);
  issuer.list("a");
  issuer.listResponse.set("a", { padBytes: 5 * 1024 * 1024 });
  const verifier = createVerifier({ issuer: issuer.issuer, audience: AUDIENCE });
  const token = await issuer.sign({ status: { status_list: { idx: 0, uri: issuer.listUri("a") } } });
  await unavailable(t, verifier.verify(token), /answered more than 4194304 bytes/);
});

t.test("the plugin answers 503 with Retry-After when the status list cannot be fetched", async (t) => {
  const issuer = await startIssuer(t);
  const api = Fastify();
  t.teardown(() => api.close());
  await api.register(resourceServer, { issuer: issuer.issuer, audience: AUDIENCE });
  api.get("/", async () => "ok");
  const token = await issuer.sign({ status: { status_list: { idx: 0, uri: issuer.listUri("gone") } } });
  const res = await api.inject({ method: "GET", url: "/", headers: { authorization: `Bearer ${token}` } });
  t.equal(res.statusCode, 503);
  t.equal(res.headers["retry-after"], "5");
  t.equal(res.headers["www-authenticate"], undefined);
  t.same(res.json(), { error: "temporarily_unavailable", error_description: `the status list ${issuer.listUri("gone")} is unusable: answered 404` });
});

t.test("an error that is not a token's goes to Fastify's error handler", async (t) => {
  const issuer = await startIssuer(t);
  const verifier = createVerifier({ issuer: issuer.issuer, audience: AUDIENCE });
  const api = Fastify();
  t.teardown(() => api.close());
  await api.register(resourceServer, {
    issuer: issuer.issuer,
    audience: AUDIENCE,
    verifier: { ready: () => verifier.ready(), verify: () => Promise.reject(new RangeError("a bug")) },
  });
  api.get("/", async () => "ok");
  const res = await api.inject({ method: "GET", url: "/", headers: { authorization: "Bearer abc" } });
  t.equal(res.statusCode, 500);
  t.equal(res.json().message, "a bug");
});

t.test("an AccessTokenError thrown by the configured fetch for the JWKS reaches the caller as it is", async (t) => {
  // A fetch option may apply its own policy (here, an egress rule) and say why in the verifier's terms.
  const issuer = await startIssuer(t);
  const denied = new AccessTokenError("temporarily_unavailable", "egress to the JWKS is not allowed");
  const fetch: typeof globalThis.fetch = async (input, init) => {
    if (String(input).endsWith("/.well-known/jwks.json")) throw denied;
    return globalThis.fetch(input, init);
  };
  const verifier = createVerifier({ issuer: issuer.issuer, audience: AUDIENCE, fetch });
  const error = await verifier.verify(await issuer.sign()).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.equal(error, denied, "not wrapped into \"the issuer's keys could not be fetched\"");
});
