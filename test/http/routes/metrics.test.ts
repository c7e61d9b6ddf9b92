// GET /metrics (Prometheus text, prom-client): tokens by grant and client, OAuth errors by code,
// refresh-token reuse, signing-key creations, request durations by route pattern and status, and the
// default process metrics. METRICS=off serves no /metrics; METRICS_TOKEN guards it with a Bearer token.
import { randomBytes } from "node:crypto";
import t from "tap";
import { loadConfig } from "../../../src/config/load.js";
import { basic, buildTestApp, form } from "../../helpers/app.js";
import { expectOAuthError, FORM } from "../../helpers/oauth.js";

const { app, clock, createClient } = await buildTestApp(t);

async function scrape(): Promise<string> {
  const res = await app.inject({ method: "GET", url: "/metrics" });
  if (res.statusCode !== 200) throw new Error(`/metrics answered ${res.statusCode}`);
  return res.body;
}

/** The value of one series, or undefined when the series is absent. */
function valueOf(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const client = await createClient();
const auth = basic(client.clientId, client.clientSecret);
const postToken = (payload: Record<string, string>, authorization = auth) =>
  app.inject({ method: "POST", url: "/token", headers: { ...FORM, authorization }, payload: form(payload) });

t.test("the answer is Prometheus text, not cached", async (t) => {
  const res = await app.inject({ method: "GET", url: "/metrics" });
  t.equal(res.statusCode, 200);
  t.match(res.headers["content-type"], /^text\/plain; version=0\.0\.4/);
  t.equal(res.headers["cache-control"], "no-store");
  t.match(res.body, /^# HELP process_cpu_user_seconds_total /m, "default process metrics");
  t.match(res.body, /^nodejs_heap_size_used_bytes \d/m, "default Node.js metrics");
});

t.test("tokens issued, by grant type and client", async (t) => {
  const series = `tessera_tokens_issued_total{grant_type="client_credentials",client_id="${client.clientId}"}`;
  const before = valueOf(await scrape(), series) ?? 0;
  for (let i = 0; i < 3; i++) t.equal((await postToken({ grant_type: "client_credentials" })).statusCode, 200);
  t.equal(valueOf(await scrape(), series), before + 3);
});

t.test("OAuth errors, by code", async (t) => {
  const series = 'tessera_oauth_errors_total{error="invalid_client"}';
  const before = valueOf(await scrape(), series) ?? 0;
  expectOAuthError(t, await postToken({ grant_type: "client_credentials" }, basic(client.clientId, "wrong")), 401, "invalid_client");
  t.equal(valueOf(await scrape(), series), before + 1);
  t.equal(valueOf(await scrape(), `tessera_tokens_issued_total{grant_type="client_credentials",client_id="${client.clientId}"}`), 3, "no token counted for it");
});

t.test("request durations, by method, route pattern and status", async (t) => {
  const ready = 'tessera_http_request_duration_seconds_count{method="GET",route="/readyz",status="200"}';
  const refused = 'tessera_http_request_duration_seconds_count{method="POST",route="/token",status="401"}';
  const before = await scrape();
  for (let i = 0; i < 2; i++) t.equal((await app.inject({ method: "GET", url: "/readyz" })).statusCode, 200);
  await postToken({ grant_type: "client_credentials" }, basic(client.clientId, "wrong"));
  const after = await scrape();
  t.equal(valueOf(after, ready), (valueOf(before, ready) ?? 0) + 2);
  t.equal(valueOf(after, refused), (valueOf(before, refused) ?? 0) + 1);
  t.equal(valueOf(after, 'tessera_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/readyz",status="200"}'), valueOf(after, ready), "every request falls in the +Inf bucket");
  t.ok((valueOf(after, 'tessera_http_request_duration_seconds_sum{method="GET",route="/readyz",status="200"}') ?? -1) > 0, "a duration sum");
  t.match(after, /^# TYPE tessera_http_request_duration_seconds histogram$/m);
  const buckets = after
    .split("\n")
    .filter((l) => l.startsWith("tessera_http_request_duration_seconds_bucket{") && l.includes('route="/readyz",status="200"'));
  t.same(buckets.map((l) => /le="([^"]+)"/.exec(l)?.[1]), ["0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"], "buckets in order");
  const counts = buckets.map((l) => Number(l.split(" ").at(-1)));
  t.ok(counts.every((c, i) => i === 0 || c >= counts[i - 1]!), `cumulative counts never decrease (${counts.join(" ")})`);

  // Unknown paths are not timed: their URLs would grow the label set without bound.
  t.equal((await app.inject({ method: "GET", url: "/no-such-path-123" })).statusCode, 404);
  t.notMatch(await scrape(), /no-such-path-123/);
});

t.test("the documents served from memory are not timed", async (t) => {
  for (const url of ["/.well-known/jwks.json", "/.well-known/oauth-authorization-server", "/healthz"]) {
    t.equal((await app.inject({ method: "GET", url })).statusCode, 200, url);
    t.notMatch(await scrape(), `route="${url}"`, `${url} has no duration series`);
  }
});

t.test("refresh-token reuse detections", async (t) => {
  const web = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"] });
  await app.services.users.create("metrics-user", "metrics-password-1");
  const webAuth = basic(web.clientId, web.clientSecret);
  const signIn = await postToken({ grant_type: "password", username: "metrics-user", password: "metrics-password-1" }, webAuth);
  const first = signIn.json().refresh_token as string;
  t.equal((await postToken({ grant_type: "refresh_token", refresh_token: first }, webAuth)).statusCode, 200);
  const before = valueOf(await scrape(), "tessera_refresh_token_reuse_total") ?? 0;
  clock.advance(2); // 2 s on: a replay, not a request concurrent with the rotation (CONCURRENT_USE_WINDOW_MS)
  expectOAuthError(t, await postToken({ grant_type: "refresh_token", refresh_token: first }, webAuth), 400, "invalid_grant");
  t.equal(valueOf(await scrape(), "tessera_refresh_token_reuse_total"), before + 1);
});

t.test("signing keys created", async (t) => {
  const before = valueOf(await scrape(), "tessera_signing_keys_created_total") ?? 0;
  await app.services.keyAdmin.rotate("test", true);
  t.equal(valueOf(await scrape(), "tessera_signing_keys_created_total"), before + 1);
});

t.test("METRICS=off: no /metrics", async (t) => {
  const off = await buildTestApp(t, { METRICS: "off" });
  t.equal(off.app.metrics, null);
  expectOAuthError(t, await off.app.inject({ method: "GET", url: "/metrics" }), 404, "invalid_request");
});

t.test("METRICS=off: tokens are still issued, and a replayed refresh token still ends its family", async (t) => {
  const off = await buildTestApp(t, { METRICS: "off" });
  const web = await off.createClient({ firstParty: true, grantTypes: ["password", "refresh_token"] });
  await off.app.services.users.create("off-user", "off-password-1");
  const auth = basic(web.clientId, web.clientSecret);
  const post = (params: Record<string, string>) =>
    off.app.inject({ method: "POST", url: "/token", headers: { ...FORM, authorization: auth }, payload: form(params) });
  const signIn = await post({ grant_type: "password", username: "off-user", password: "off-password-1" });
  t.equal(signIn.statusCode, 200);
  const first = signIn.json().refresh_token as string;
  const rotated = await post({ grant_type: "refresh_token", refresh_token: first });
  t.equal(rotated.statusCode, 200);
  off.clock.advance(2); // a replay, not a request concurrent with the rotation
  expectOAuthError(t, await post({ grant_type: "refresh_token", refresh_token: first }), 400, "invalid_grant");
  expectOAuthError(t, await post({ grant_type: "refresh_token", refresh_token: rotated.json().refresh_token as string }), 400, "invalid_grant");
});

t.test("METRICS_TOKEN: /metrics (whose series name clients) wants that Bearer token", async (t) => {
  const TOKEN = randomBytes(32).toString("base64");
  const guarded = await buildTestApp(t, { METRICS_TOKEN: TOKEN });
  const get = (authorization?: string) => guarded.app.inject({ method: "GET", url: "/metrics", headers: authorization === undefined ? {} : { authorization } });

  t.test("no credentials: 401 with a Bearer challenge without an error code (RFC 6750 §3.1)", async (t) => {
    const res = await get();
    t.equal(res.statusCode, 401);
    t.equal(res.headers["www-authenticate"], 'Bearer realm="tessera"');
    t.same(res.json(), { error: "invalid_token", error_description: "a bearer token is required" });
    t.equal(res.headers["cache-control"], "no-store");
    t.notMatch(res.body, "tessera_tokens_issued_total", "no metrics in the answer");
  });

  const wrong: [string, string][] = [
    ["another token", `Bearer ${randomBytes(32).toString("base64")}`],
    ["the token with one character changed", `Bearer ${TOKEN.slice(0, -2)}${TOKEN.at(-2) === "A" ? "B" : "A"}${TOKEN.at(-1)}`],
    ["a prefix of the token", `Bearer ${TOKEN.slice(0, 20)}`],
    ["the token with more after it", `Bearer ${TOKEN}x`],
    ["the token as Basic credentials", `Basic ${TOKEN}`],
  ];
  for (const [name, authorization] of wrong) {
    t.test(`${name}: 401 invalid_token`, async (t) => {
      const res = await get(authorization);
      t.equal(res.statusCode, 401);
      t.match(res.headers["www-authenticate"], /^Bearer realm="tessera"/);
      t.equal(res.json().error, "invalid_token");
      t.notMatch(res.body, "tessera_tokens_issued_total", "no metrics in the answer");
      t.notMatch(res.body, TOKEN, "the token is not echoed");
    });
  }

  t.test("the token: 200 and the metrics; the scheme is case-insensitive (RFC 6750 §2.1)", async (t) => {
    for (const scheme of ["Bearer", "bearer"]) {
      const res = await get(`${scheme} ${TOKEN}`);
      t.equal(res.statusCode, 200, scheme);
      t.match(res.body, /^# HELP process_cpu_user_seconds_total /m);
    }
  });

  t.test("the other routes do not want it", async (t) => {
    t.equal((await guarded.app.inject({ method: "GET", url: "/healthz" })).statusCode, 200);
  });

  t.test("the token is never logged", async (t) => {
    t.notMatch(guarded.logs.join(""), TOKEN);
  });

  t.test("a token too short or with characters a Bearer token cannot carry stops the start, naming METRICS_TOKEN", async (t) => {
    for (const bad of ["short-token", `${TOKEN} with spaces`]) {
      t.throws(() => loadConfig({ METRICS_TOKEN: bad }), { name: "ConfigError", message: /METRICS_TOKEN: must be at least 32 characters/ });
    }
    t.equal(loadConfig({}).metricsToken, undefined, "unset: /metrics is open");
    t.equal(loadConfig({ METRICS_TOKEN: "" }).metricsToken, undefined, "empty: as unset");
  });
});

t.test("without METRICS_TOKEN, /metrics answers without credentials", async (t) => {
  t.equal((await app.inject({ method: "GET", url: "/metrics" })).statusCode, 200);
});
