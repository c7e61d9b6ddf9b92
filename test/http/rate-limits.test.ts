// Rate limits (RATE_LIMIT_*, per endpoint and per minute; SPEC "Security defaults") and the
// per-username sign-in back-off (domain/users/sign-in-throttle.ts). Over the limit: 429 slow_down
// with Retry-After and an OAuth error body. The plugin's window runs on real time, so resets are
// not tested by waiting; Retry-After is checked to be within the one-minute window instead. The
// sign-in back-off runs on the app's clock, which the tests move.
import { randomBytes } from "node:crypto";
import net from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { Redis } from "ioredis";
import t, { type Test } from "tap";
import type { LightMyRequestResponse } from "fastify";
import { basic, buildTestApp, form, type TestApp } from "../helpers/app.js";
import { expectOAuthError, FORM } from "../helpers/oauth.js";

const API = "https://api.example.test";
const REDIS_URL = "redis://127.0.0.1:6379";
const OFF = { RATE_LIMIT_TOKEN: "0", RATE_LIMIT_LOGIN: "0", RATE_LIMIT_REFRESH: "0", RATE_LIMIT_REVOKE: "0", RATE_LIMIT_INTROSPECT: "0" };

type Creds = { clientId: string; clientSecret: string };
type App = TestApp["app"];

const tokenRequest = (app: App, creds: Creds, remoteAddress = "127.0.0.1") =>
  app.inject({ method: "POST", url: "/token", remoteAddress, headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) }, payload: form({ grant_type: "client_credentials" }) });

/** 429 slow_down, an OAuth error body with a description, and Retry-After within the minute window. */
function expectSlowDown(t: Test, res: LightMyRequestResponse, maxRetryAfter = 60): number {
  expectOAuthError(t, res, 429, "slow_down");
  t.type(res.json().error_description, "string", "error_description says why");
  const retryAfter = String(res.headers["retry-after"]);
  t.match(retryAfter, /^[1-9][0-9]*$/, "Retry-After is a whole number of seconds (RFC 9110 §10.2.3)");
  t.ok(Number(retryAfter) <= maxRetryAfter, `Retry-After ${retryAfter} ≤ ${maxRetryAfter}`);
  return Number(retryAfter);
}

function expectNotLimited(t: Test, res: LightMyRequestResponse, status: number, what: string): void {
  t.equal(res.statusCode, status, `${what}: ${status}, not limited (${res.body.slice(0, 120)})`);
}

t.test("POST /token with RATE_LIMIT_TOKEN=3", async (t) => {
  const { app, createClient } = await buildTestApp(t, { ...OFF, RATE_LIMIT_TOKEN: "3" });

  t.test("the 4th request of one client within the minute is 429 slow_down with Retry-After", async (t) => {
    const client = await createClient();
    for (let i = 1; i <= 3; i++) expectNotLimited(t, await tokenRequest(app, client), 200, `request ${i}`);
    expectSlowDown(t, await tokenRequest(app, client));
    expectSlowDown(t, await tokenRequest(app, client));
  });

  t.test("another client from the same address is not affected", async (t) => {
    const busy = await createClient();
    const other = await createClient();
    for (let i = 0; i < 4; i++) await tokenRequest(app, busy);
    expectSlowDown(t, await tokenRequest(app, busy));
    expectNotLimited(t, await tokenRequest(app, other), 200, "the other client");
  });

  t.test("the count is per client whichever way it authenticates (Basic or client_secret_post)", async (t) => {
    const client = await createClient();
    for (let i = 0; i < 3; i++) expectNotLimited(t, await tokenRequest(app, client), 200, `Basic request ${i + 1}`);
    const post = await app.inject({
      method: "POST",
      url: "/token",
      headers: FORM,
      payload: form({ grant_type: "client_credentials", client_id: client.clientId, client_secret: client.clientSecret }),
    });
    expectSlowDown(t, post);
  });

  t.test("spelling the client_id differently in Basic (percent-encoded) does not start a new count", async (t) => {
    const client = await createClient();
    for (let i = 0; i < 3; i++) expectNotLimited(t, await tokenRequest(app, client), 200, `request ${i + 1}`);
    // RFC 6749 §2.3.1: Basic credentials are form-urlencoded; "%41" and "A" are the same client.
    const allEncoded = [...client.clientId].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`).join("");
    const authorization = `Basic ${Buffer.from(`${allEncoded}:${encodeURIComponent(client.clientSecret)}`).toString("base64")}`;
    expectSlowDown(t, await app.inject({ method: "POST", url: "/token", headers: { ...FORM, authorization }, payload: form({ grant_type: "client_credentials" }) }));
  });

  t.test("the count is per client, not per address: one client from several addresses is limited", async (t) => {
    const client = await createClient();
    for (const ip of ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) expectNotLimited(t, await tokenRequest(app, client, ip), 200, `from ${ip}`);
    expectSlowDown(t, await tokenRequest(app, client, "10.0.0.4"));
  });

  t.test("a public client (client_id alone) is counted per client and address: one caller cannot spend every user's budget", async (t) => {
    const spa = await createClient({ public: true, grantTypes: ["authorization_code", "refresh_token"], redirectUris: ["https://app.example.test/cb"] });
    // An unknown refresh token: authentication succeeds (the request counts), the grant fails.
    const refresh = (remoteAddress: string) =>
      app.inject({ method: "POST", url: "/token", remoteAddress, headers: FORM, payload: form({ grant_type: "refresh_token", refresh_token: "A".repeat(43), client_id: spa.clientId }) });
    for (let i = 1; i <= 3; i++) expectNotLimited(t, await refresh("198.51.100.1"), 400, `request ${i} from 198.51.100.1`);
    expectSlowDown(t, await refresh("198.51.100.1"));
    for (let i = 1; i <= 3; i++) expectNotLimited(t, await refresh("198.51.100.2"), 400, `request ${i} from another address`);
  });

  t.test("failed client authentication (here none at all) is counted per IP address, which is then refused", async (t) => {
    const anonymous = (remoteAddress: string) =>
      app.inject({ method: "POST", url: "/token", remoteAddress, headers: FORM, payload: form({ grant_type: "client_credentials" }) });
    for (let i = 1; i <= 3; i++) expectNotLimited(t, await anonymous("192.0.2.1"), 401, `anonymous request ${i} from 192.0.2.1`);
    expectSlowDown(t, await anonymous("192.0.2.1"));
    expectNotLimited(t, await anonymous("192.0.2.2"), 401, "an anonymous request from another address");
    // The address is refused before authentication: its failures are all it has shown.
    const named = await createClient();
    expectSlowDown(t, await tokenRequest(app, named, "192.0.2.1"));
    expectNotLimited(t, await tokenRequest(app, named, "192.0.2.3"), 200, "the same client from another address");
  });
});

t.test("the limits of /token, /revoke and /introspect cannot be spent by others or dodged (issue 17.2)", async (t) => {
  const LIMIT = 3;
  const { app, createClient } = await buildTestApp(t, { ...OFF, RATE_LIMIT_TOKEN: String(LIMIT), RATE_LIMIT_REVOKE: String(LIMIT), RATE_LIMIT_INTROSPECT: String(LIMIT) });
  const madeUp = () => `made-up-${randomBytes(8).toString("hex")}`;
  const send = (url: string, creds: Creds, remoteAddress: string) =>
    app.inject({
      method: "POST",
      url,
      remoteAddress,
      headers: { ...FORM, authorization: basic(creds.clientId, creds.clientSecret) },
      payload: form(url === "/token" ? { grant_type: "client_credentials" } : { token: "unknown" }),
    });
  const posted = (url: string, creds: Creds, remoteAddress: string) =>
    app.inject({
      method: "POST",
      url,
      remoteAddress,
      headers: FORM,
      payload: form({ ...(url === "/token" ? { grant_type: "client_credentials" } : { token: "unknown" }), client_id: creds.clientId, client_secret: creds.clientSecret }),
    });

  for (const [i, url] of ["/token", "/revoke", "/introspect"].entries()) {
    t.test(`${url}: wrong secrets naming a client, from many addresses, do not lock that client out`, async (t) => {
      const victim = await createClient();
      const forged = { clientId: victim.clientId, clientSecret: "wrong-secret" };
      // 10 addresses, each within its own budget: 20 failures naming the victim, Basic and post.
      for (let a = 1; a <= 10; a++) {
        const ip = `10.${i}.1.${a}`;
        const answers = [await send(url, forged, ip), await posted(url, forged, ip)];
        for (const res of answers) if (res.statusCode !== 401 && res.statusCode !== 429) expectNotLimited(t, res, 401, `forged request from ${ip}`);
      }
      // Past the claimed id's budget, further failures naming it are refused from anywhere...
      expectSlowDown(t, await send(url, forged, `10.${i}.2.1`));
      // ...while the right secret gets the victim's whole budget, from any address, that one too.
      expectNotLimited(t, await send(url, victim, `10.${i}.2.1`), 200, "the victim with its secret, from the attacker's last address");
      expectNotLimited(t, await send(url, victim, `10.${i}.3.1`), 200, "the victim, from its own address");
      expectNotLimited(t, await posted(url, victim, `10.${i}.3.1`), 200, "the victim, client_secret_post");
      // Its own requests are what its limit counts.
      expectSlowDown(t, await send(url, victim, `10.${i}.3.1`));
    });

    t.test(`${url}: made-up client_ids, a new one each time, from one address are limited`, async (t) => {
      const ip = `10.${i}.4.1`;
      for (let n = 1; n <= LIMIT; n++) expectNotLimited(t, await send(url, { clientId: madeUp(), clientSecret: "x" }, ip), 401, `made-up client ${n}`);
      for (let n = 1; n <= 50; n++) {
        const res = await send(url, { clientId: madeUp(), clientSecret: "x" }, ip);
        if (res.statusCode !== 429) return expectNotLimited(t, res, 429, `made-up client ${LIMIT + n}`);
      }
      expectSlowDown(t, await posted(url, { clientId: madeUp(), clientSecret: "x" }, ip));
      t.pass("50 more made-up client_ids, all refused");
      expectNotLimited(t, await send(url, { clientId: madeUp(), clientSecret: "x" }, `10.${i}.4.2`), 401, "another address is not affected");
    });
  }

  t.test("a malformed Basic header claims no client: its failures count for the client_id the body names", async (t) => {
    const [victim, bystander] = [await createClient(), await createClient()];
    const malformed = (claimed: Creds, remoteAddress: string) =>
      app.inject({ method: "POST", url: "/token", remoteAddress, headers: { ...FORM, authorization: "Basic !!!" }, payload: form({ grant_type: "client_credentials", client_id: claimed.clientId }) });
    for (let a = 1; a <= LIMIT; a++) {
      const res = await malformed(victim, `10.8.1.${a}`);
      expectOAuthError(t, res, 401, "invalid_client");
      t.equal(res.json().error_description, "malformed Basic authorization header");
    }
    expectNotLimited(t, await malformed(bystander, "10.8.2.1"), 401, "the same malformed header naming another client_id");
    const refused = await malformed(victim, "10.8.2.1");
    expectSlowDown(t, refused);
    t.match(refused.json().error_description, /^too many failed client authentications for this client_id;/, "counted for the body's client_id, not the address");
    expectNotLimited(t, await send("/token", victim, "10.8.2.1"), 200, "the victim with its secret");
  });

  t.test("the addresses of one IPv6 /64 count as one address", async (t) => {
    for (let n = 1; n <= LIMIT; n++) expectNotLimited(t, await send("/token", { clientId: madeUp(), clientSecret: "x" }, `2001:db8:1:2::${n}`), 401, `from 2001:db8:1:2::${n}`);
    expectSlowDown(t, await send("/token", { clientId: madeUp(), clientSecret: "x" }, "2001:db8:1:2:ffff:ffff:ffff:ffff"));
    expectNotLimited(t, await send("/token", { clientId: madeUp(), clientSecret: "x" }, "2001:db8:1:3::1"), 401, "from another /64");
  });

  t.test("a client's successes do not count against its address", async (t) => {
    const busy = await createClient();
    for (let n = 1; n <= LIMIT; n++) expectNotLimited(t, await send("/token", busy, "10.9.0.1"), 200, `request ${n}`);
    expectSlowDown(t, await send("/token", busy, "10.9.0.1"));
    expectNotLimited(t, await send("/token", await createClient(), "10.9.0.1"), 200, "another client from the same address");
  });
});

/** One request to each rate-limited endpoint other than /token; `key` makes it count apart from others. */
type Endpoint = { url: string; setting: string; status: number; send: (app: App, key: { ip: string; client: Creds }) => Promise<LightMyRequestResponse> };

const ENDPOINTS: Endpoint[] = [
  {
    url: "/login",
    setting: "RATE_LIMIT_LOGIN",
    status: 400, // an unknown client (400 without a Basic challenge at /login): cheap, and still counted
    send: (app, { ip }) =>
      app.inject({ method: "POST", url: "/login", remoteAddress: ip, headers: { "content-type": "application/json" }, payload: JSON.stringify({ username: "u", password: "p", client_id: "nobody" }) }),
  },
  {
    url: "/refresh",
    setting: "RATE_LIMIT_REFRESH",
    status: 400,
    send: (app, { ip }) => app.inject({ method: "POST", url: "/refresh", remoteAddress: ip, headers: FORM, payload: form({ refresh_token: "unknown" }) }),
  },
  {
    url: "/logout",
    setting: "RATE_LIMIT_REFRESH", // /logout shares /refresh's setting (config/schema.ts), with its own count
    status: 200,
    send: (app, { ip }) => app.inject({ method: "POST", url: "/logout", remoteAddress: ip, headers: FORM, payload: form({ refresh_token: "unknown" }) }),
  },
  {
    url: "/revoke",
    setting: "RATE_LIMIT_REVOKE",
    status: 200,
    send: (app, { ip, client }) =>
      app.inject({ method: "POST", url: "/revoke", remoteAddress: ip, headers: { ...FORM, authorization: basic(client.clientId, client.clientSecret) }, payload: form({ token: "unknown" }) }),
  },
  {
    url: "/introspect",
    setting: "RATE_LIMIT_INTROSPECT",
    status: 200,
    send: (app, { ip, client }) =>
      app.inject({ method: "POST", url: "/introspect", remoteAddress: ip, headers: { ...FORM, authorization: basic(client.clientId, client.clientSecret) }, payload: form({ token: "unknown" }) }),
  },
];

t.test("each endpoint is limited by its own setting", async (t) => {
  // Distinct limits, so that each endpoint shows which setting it follows.
  const limits: Record<string, number> = { RATE_LIMIT_LOGIN: 1, RATE_LIMIT_REFRESH: 2, RATE_LIMIT_REVOKE: 3, RATE_LIMIT_INTROSPECT: 4 };
  const { app, createClient } = await buildTestApp(t, { ...OFF, ...Object.fromEntries(Object.entries(limits).map(([k, v]) => [k, String(v)])) });

  for (const [i, endpoint] of ENDPOINTS.entries()) {
    t.test(`${endpoint.url}: ${endpoint.setting}=${limits[endpoint.setting]} requests per minute`, async (t) => {
      const key = { ip: `198.51.100.${i + 1}`, client: await createClient() };
      const limit = limits[endpoint.setting]!;
      for (let n = 1; n <= limit; n++) expectNotLimited(t, await endpoint.send(app, key), endpoint.status, `request ${n}`);
      expectSlowDown(t, await endpoint.send(app, key));
    });
  }

  t.test("/refresh and /logout share the setting but not the count", async (t) => {
    const key = { ip: "198.51.100.100", client: await createClient() };
    const [refresh, logout] = [ENDPOINTS[1]!, ENDPOINTS[2]!];
    for (let n = 0; n < 2; n++) await refresh.send(app, key);
    expectSlowDown(t, await refresh.send(app, key));
    expectNotLimited(t, await logout.send(app, key), 200, "/logout from the same address");
  });

  t.test("/revoke and /introspect count one client apart", async (t) => {
    const key = { ip: "198.51.100.101", client: await createClient() };
    const [revoke, introspect] = [ENDPOINTS[3]!, ENDPOINTS[4]!];
    for (let n = 0; n < 3; n++) await revoke.send(app, key);
    expectSlowDown(t, await revoke.send(app, key));
    expectNotLimited(t, await introspect.send(app, key), 200, "/introspect for the same client");
    expectNotLimited(t, await revoke.send(app, { ...key, client: await createClient() }), 200, "/revoke for another client");
  });

  t.test("/token is unlimited with RATE_LIMIT_TOKEN=0", async (t) => {
    const client = await createClient();
    for (let n = 1; n <= 20; n++) {
      const res = await tokenRequest(app, client);
      if (res.statusCode !== 200) return expectNotLimited(t, res, 200, `request ${n}`);
    }
    t.pass("20 requests in a row, none limited");
  });
});

t.test("a setting of 0 turns its endpoint's limit off", async (t) => {
  const { app, createClient } = await buildTestApp(t, { ...OFF, RATE_LIMIT_TOKEN: "2" });
  for (const [i, endpoint] of ENDPOINTS.entries()) {
    t.test(`${endpoint.url} with ${endpoint.setting}=0`, async (t) => {
      const key = { ip: `203.0.113.${i + 1}`, client: await createClient() };
      for (let n = 1; n <= 15; n++) {
        const res = await endpoint.send(app, key);
        if (res.statusCode !== endpoint.status) return expectNotLimited(t, res, endpoint.status, `request ${n}`);
      }
      t.pass("15 requests in a row, none limited");
    });
  }
  t.test("while /token, set to 2, is limited in the same app", async (t) => {
    const client = await createClient();
    for (let n = 1; n <= 2; n++) expectNotLimited(t, await tokenRequest(app, client), 200, `request ${n}`);
    expectSlowDown(t, await tokenRequest(app, client));
  });
});

t.test("with Redis (REDIS_URL), instances share one count", async (t) => {
  const redis = new Redis(REDIS_URL, { connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  redis.on("error", () => {}); // reported below
  t.teardown(() => redis.disconnect());
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    t.fail(`Redis is not reachable at ${REDIS_URL} (${(error as Error).message}); start it (CI does) to run this test`);
    return;
  }

  const env = { ...OFF, REDIS_URL, RATE_LIMIT_TOKEN: "3" };
  const a = await buildTestApp(t, env);
  // Fresh random clients: their Redis keys cannot collide with other runs.
  const client = await a.createClient();
  const other = await a.createClient();
  const probes = [await a.createClient(), await a.createClient()];
  // B shares A's database and KEK, and loads A's clients at start; the count is in Redis only.
  const b = await buildTestApp(t, { ...env, DATABASE_URL: a.config.databaseUrl, TESSERA_KEK: a.config.kek! });
  t.teardown(async () => {
    for (const id of [client, other, ...probes].map((c) => c.clientId)) {
      const keys = await redis.keys(`tessera-rate-limit:*${id}*`);
      if (keys.length > 0) await redis.del(...keys);
    }
  });

  // Each instance connects to Redis in the background; until it has, requests pass uncounted
  // (skipOnError). A throwaway client per instance is asked for tokens until it is limited: from
  // then on, that instance counts in Redis.
  for (const [instance, probe] of [[a, probes[0]!], [b, probes[1]!]] as const) {
    let limited = false;
    for (let n = 0; n < 100 && !limited; n++) {
      limited = (await tokenRequest(instance.app, probe)).statusCode === 429;
      if (!limited && n >= 3) await delay(20);
    }
    if (!limited) throw new Error("an instance never started counting in Redis");
  }

  expectNotLimited(t, await tokenRequest(a.app, client), 200, "request 1, on A");
  expectNotLimited(t, await tokenRequest(a.app, client), 200, "request 2, on A");
  expectNotLimited(t, await tokenRequest(b.app, client), 200, "request 3, on B");
  expectSlowDown(t, await tokenRequest(b.app, client));
  expectSlowDown(t, await tokenRequest(a.app, client));
  expectNotLimited(t, await tokenRequest(b.app, other), 200, "another client on B");

  const keys = await redis.keys(`tessera-rate-limit:*${client.clientId}*`);
  t.equal(keys.length, 1, "one counter in Redis for the client's /token requests");
  t.equal(await redis.get(keys[0]!), "5", "it counted all five requests, from both instances");
  const ttl = await redis.pttl(keys[0]!);
  t.ok(ttl > 0 && ttl <= 60_000, `the counter expires within the minute (${ttl} ms)`);

  // Failed client authentication from one address, counted on A, refuses that address on B.
  const address = `10.${randomBytes(1)[0]}.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;
  const madeUpIds: string[] = [];
  t.teardown(async () => {
    const failed = await redis.keys(`tessera-rate-limit:*failed-*`);
    const ours = failed.filter((key) => key.endsWith(`:${address}`) || madeUpIds.some((id) => key.endsWith(`:${id}`)));
    if (ours.length > 0) await redis.del(...ours);
  });
  const madeUp = () => {
    madeUpIds.push(`made-up-${randomBytes(8).toString("hex")}`);
    return { clientId: madeUpIds.at(-1)!, clientSecret: "x" };
  };
  for (let n = 1; n <= 3; n++) expectNotLimited(t, await tokenRequest(a.app, madeUp(), address), 401, `made-up client ${n} from ${address}, on A`);
  expectSlowDown(t, await tokenRequest(b.app, madeUp(), address));
  expectSlowDown(t, await tokenRequest(b.app, other, address));
  expectNotLimited(t, await tokenRequest(b.app, other), 200, "another address on B");
});

t.test("with Redis unreachable, requests are served unlimited rather than failed", async (t) => {
  // A port that was free a moment ago: nothing listens there.
  const free = net.createServer();
  await new Promise<void>((resolve) => free.listen(0, "127.0.0.1", resolve));
  const { port } = free.address() as net.AddressInfo;
  await new Promise((resolve) => free.close(resolve));

  const { app, createClient } = await buildTestApp(t, { ...OFF, REDIS_URL: `redis://127.0.0.1:${port}`, RATE_LIMIT_TOKEN: "2" });
  const client = await createClient();
  for (let n = 1; n <= 5; n++) expectNotLimited(t, await tokenRequest(app, client), 200, `request ${n}`);
});

t.test("sign-in back-off per username", async (t) => {
  const { app, clock, createClient } = await buildTestApp(t, OFF);
  const web = await createClient({ firstParty: true, grantTypes: ["password", "refresh_token"], scopes: ["read"], audiences: [API] });
  const PASSWORD = "right-password-1";

  async function newUser(): Promise<string> {
    const username = `user-${randomBytes(4).toString("hex")}`;
    await app.services.users.create(username, PASSWORD);
    return username;
  }
  const login = (username: string, password: string) =>
    app.inject({ method: "POST", url: "/login", headers: { "content-type": "application/json" }, payload: JSON.stringify({ username, password, client_id: web.clientId }) });
  const wrong = (username: string) => login(username, "wrong-password");

  async function failFiveTimes(t: Test, username: string): Promise<void> {
    for (let n = 1; n <= 5; n++) expectOAuthError(t, await wrong(username), 400, "invalid_grant");
  }

  /** Wrong passwords until the first 429; its Retry-After. */
  async function failUntilThrottled(t: Test, username: string): Promise<number> {
    for (let n = 1; n <= 10; n++) {
      const res = await wrong(username);
      if (res.statusCode === 429) return expectSlowDown(t, res, 300);
      expectOAuthError(t, res, 400, "invalid_grant");
    }
    throw new Error("ten wrong passwords and still no back-off");
  }

  t.test("after 5 wrong passwords, the next attempt is 429 slow_down with Retry-After, even with the right password", async (t) => {
    const username = await newUser();
    await failFiveTimes(t, username);
    expectSlowDown(t, await login(username, PASSWORD), 300);
  });

  t.test("moving the clock past Retry-After lets the right password in", async (t) => {
    const username = await newUser();
    const retryAfter = await failUntilThrottled(t, username);
    if (retryAfter > 1) {
      clock.advance(retryAfter - 1);
      expectSlowDown(t, await login(username, PASSWORD), 300);
    }
    clock.advance(1);
    const res = await login(username, PASSWORD);
    t.equal(res.statusCode, 200, `the right password is accepted (${res.body.slice(0, 120)})`);
  });

  t.test("the wait doubles with each further failure", async (t) => {
    const username = await newUser();
    const waits = [await failUntilThrottled(t, username)];
    for (let n = 0; n < 3; n++) {
      clock.advance(waits.at(-1)!);
      expectOAuthError(t, await wrong(username), 400, "invalid_grant");
      waits.push(expectSlowDown(t, await login(username, PASSWORD), 300));
    }
    t.same(waits, [1, 2, 4, 8], "1 s, 2 s, 4 s, 8 s");
  });

  t.test("a success forgets the failures", async (t) => {
    const username = await newUser();
    for (let n = 1; n <= 4; n++) expectOAuthError(t, await wrong(username), 400, "invalid_grant");
    t.equal((await login(username, PASSWORD)).statusCode, 200, "the right password, before any back-off");
    // Counting on from 4 would have blocked by now; from 0, five failures are free again.
    await failFiveTimes(t, username);
  });

  t.test("other usernames are not affected", async (t) => {
    const throttled = await newUser();
    const bystander = await newUser();
    await failUntilThrottled(t, throttled);
    expectSlowDown(t, await login(throttled, PASSWORD), 300);
    t.equal((await login(bystander, PASSWORD)).statusCode, 200, "another user signs in");
    expectOAuthError(t, await wrong(bystander), 400, "invalid_grant");
  });

  t.test("the password grant at /token shares the back-off", async (t) => {
    const username = await newUser();
    await failUntilThrottled(t, username);
    const res = await app.inject({
      method: "POST",
      url: "/token",
      headers: { ...FORM, authorization: basic(web.clientId, web.clientSecret) },
      payload: form({ grant_type: "password", username, password: PASSWORD }),
    });
    expectSlowDown(t, res, 300);
  });
});
