import { randomBytes } from "node:crypto";
import t from "tap";
import { echoesValue as shownFor, loadConfig } from "../../src/config/load.js";
import { SETTINGS } from "../../src/config/schema.js";
import { ConfigError } from "../../src/errors/internal.js";

t.test("defaults: an empty environment gives a working development setup", async (t) => {
  const config = loadConfig({});
  t.equal(config.port, 3000);
  t.equal(config.host, "127.0.0.1");
  t.equal(config.issuer, "http://127.0.0.1:3000");
  t.equal(config.databaseUrl, "file:./data/tessera.db");
  t.equal(config.kek, undefined);
  t.equal(config.kekFile, "keys/kek");
  t.equal(config.accessTokenTtlSeconds, 900);
  t.equal(config.refreshTokenTtlSeconds, 30 * 86400);
  t.equal(config.refreshIdleTtlSeconds, 7 * 86400);
  t.equal(config.keyRotationIntervalSeconds, 30 * 86400);
  t.equal(config.jwksMaxAgeSeconds, 300);
  t.equal(config.keyActivationDelaySeconds, 300, "KEY_ACTIVATION_DELAY defaults to JWKS_MAX_AGE");
  t.equal(config.signingAlg, "RS256");
  t.equal(config.logLevel, "info");
});

t.test("derived defaults follow the settings they derive from", async (t) => {
  const config = loadConfig({ PORT: "8080", HOST: "0.0.0.0", JWKS_MAX_AGE: "10m" });
  t.equal(config.issuer, "http://0.0.0.0:8080");
  t.equal(config.jwksMaxAgeSeconds, 600);
  t.equal(config.keyActivationDelaySeconds, 600);
  t.equal(loadConfig({ HOST: "::1" }).issuer, "http://[::1]:3000", "an IPv6 host is bracketed");
  t.equal(loadConfig({ JWKS_MAX_AGE: "600", KEY_ACTIVATION_DELAY: "0" }).keyActivationDelaySeconds, 0, "an explicit 0 is kept");
});

t.test("durations take s, m, h and d units", async (t) => {
  const config = loadConfig({ ACCESS_TOKEN_TTL: "15m", REFRESH_TOKEN_TTL: "30d", REFRESH_IDLE_TTL: "12h", JWKS_MAX_AGE: "45s" });
  t.equal(config.accessTokenTtlSeconds, 900);
  t.equal(config.refreshTokenTtlSeconds, 2_592_000);
  t.equal(config.refreshIdleTtlSeconds, 43_200);
  t.equal(config.jwksMaxAgeSeconds, 45);
});

t.test("values from the environment are taken as given", async (t) => {
  const kek = randomBytes(32).toString("base64");
  const config = loadConfig({
    TESSERA_ISSUER: "https://auth.example.test/",
    DATABASE_URL: "postgresql://tessera@db.example.test/tessera",
    TESSERA_KEK: kek,
    SIGNING_ALG: "EdDSA",
    LOG_LEVEL: "debug",
  });
  t.equal(config.issuer, "https://auth.example.test", "a trailing slash is dropped");
  t.equal(config.databaseUrl, "postgresql://tessera@db.example.test/tessera");
  t.equal(config.kek, kek);
  t.equal(config.signingAlg, "EdDSA");
  t.equal(config.logLevel, "debug");
});

t.test("an empty TESSERA_KEK counts as unset (the KEK file is used)", async (t) => {
  t.equal(loadConfig({ TESSERA_KEK: "" }).kek, undefined);
});

t.test("an empty or blank REDIS_URL counts as unset (counters in memory); a set one is kept", async (t) => {
  t.equal(loadConfig({ REDIS_URL: "" }).redisUrl, undefined);
  t.equal(loadConfig({ REDIS_URL: "  " }).redisUrl, undefined);
  t.equal(loadConfig({ REDIS_URL: " redis://cache.example.test:6379 " }).redisUrl, "redis://cache.example.test:6379");
});

const BAD: Array<[string, string]> = [
  ["PORT", "abc"],
  ["PORT", "70000"],
  ["PORT", "-1"],
  ["HOST", "  "],
  ["ACCESS_TOKEN_TTL", "-5"],
  ["ACCESS_TOKEN_TTL", "0"],
  ["ACCESS_TOKEN_TTL", "15 minutes"],
  ["REFRESH_TOKEN_TTL", "30w"],
  ["KEY_ROTATION_INTERVAL", "10s"],
  ["SIGNING_ALG", "HS256"],
  ["SIGNING_ALG", "none"],
  ["TESSERA_ISSUER", "https://tessera.test/?tenant=a"],
  ["TESSERA_ISSUER", "https://tessera.test/#frag"],
  ["TESSERA_ISSUER", "ftp://tessera.test"],
  ["TESSERA_ISSUER", "not a url"],
  ["DATABASE_URL", "mysql://x"],
  ["TESSERA_KEK", randomBytes(16).toString("base64")],
  ["TESSERA_KEK", randomBytes(33).toString("base64")],
  ["LOG_LEVEL", "loud"],
  ["BODY_LIMIT", "10"],
  ["TRUST_PROXY", "maybe"],
  ["TRUST_PROXY", "10.0.0.0/33"],
  ["TRUST_PROXY", "10.0.0.1,"],
  ["SHUTDOWN_TIMEOUT", "soon"],
];

for (const [variable, value] of BAD) {
  t.test(`${variable}=${JSON.stringify(value)} fails with a ConfigError naming ${variable}`, async (t) => {
    const error = (() => {
      try {
        loadConfig({ [variable]: value });
        return null;
      } catch (e) {
        return e;
      }
    })();
    t.type(error, ConfigError);
    t.match((error as Error).message, new RegExp(`\\b${variable}\\b`));
  });
}

t.test("every bad setting is reported at once", async (t) => {
  t.throws(() => loadConfig({ PORT: "abc", LOG_LEVEL: "loud" }), { name: "ConfigError", message: /PORT[\s\S]*LOG_LEVEL/ });
});

t.test("the returned config is frozen", async (t) => {
  const config = loadConfig({});
  t.ok(Object.isFrozen(config));
  t.throws(() => {
    (config as { port: number }).port = 1;
  }, TypeError);
  t.equal(config.port, 3000);
});

t.test("REFRESH_REUSE_GRACE: 0 by default, seconds or a duration, at most 300", async (t) => {
  t.equal(loadConfig({}).refreshReuseGraceSeconds, 0);
  t.equal(loadConfig({ REFRESH_REUSE_GRACE: "10" }).refreshReuseGraceSeconds, 10);
  t.equal(loadConfig({ REFRESH_REUSE_GRACE: "5m" }).refreshReuseGraceSeconds, 300);
  t.throws(() => loadConfig({ REFRESH_REUSE_GRACE: "301" }), { name: "ConfigError", message: /REFRESH_REUSE_GRACE.*at most 300 seconds/ });
  t.throws(() => loadConfig({ REFRESH_REUSE_GRACE: "-1" }), { name: "ConfigError", message: /REFRESH_REUSE_GRACE/ });
});

const configError = (env: Record<string, string>): string => {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error("no ConfigError");
};

t.test("a rejected secret-bearing setting is named but its value is never echoed", async (t) => {
  const cases: Array<[string, string]> = [
    ["TESSERA_KEK", "hunter2-hunter2-hunter2"],
    ["DATABASE_URL", "mysql://tessera:hunter2@db.example.test/tessera"],
    ["DATABASE_URL", "postgres:/tessera:hunter2@db.example.test/tessera"],
    ["REDIS_URL", "http://default:hunter2@cache.example.test:6379"],
  ];
  for (const [variable, value] of cases) {
    const message = configError({ [variable]: value });
    t.match(message, new RegExp(`\\b${variable}: must`), `${variable} is named`);
    t.notMatch(message, /hunter2/, `${variable}: the value is not echoed`);
  }
});

t.test("a rejected ordinary setting still shows what was given", async (t) => {
  t.equal(configError({ LOG_LEVEL: "loud" }), 'invalid configuration\n  LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "loud")');
});

t.test("an integer out of range says what is expected, not that it is no integer", async (t) => {
  t.equal(configError({ BODY_LIMIT: "-1" }), 'invalid configuration\n  BODY_LIMIT: must be a whole number from 1024 to 10485760 (got "-1")');
  t.equal(configError({ PORT: "abc" }), 'invalid configuration\n  PORT: must be a whole number from 0 to 65535 (got "abc")');
});

t.test("TRUST_PROXY takes off, on, or proxy addresses, CIDRs and keywords", async (t) => {
  t.equal(loadConfig({ TRUST_PROXY: "off" }).trustProxy, false);
  t.equal(loadConfig({ TRUST_PROXY: "on" }).trustProxy, true);
  t.equal(loadConfig({ TRUST_PROXY: "10.0.0.1, 192.168.0.0/16 ,::1,fd00::/8,loopback,10.1.0.0/255.255.0.0" }).trustProxy,
    "10.0.0.1,192.168.0.0/16,::1,fd00::/8,loopback,10.1.0.0/255.255.0.0");
  t.equal(configError({ TRUST_PROXY: "maybe" }),
    'invalid configuration\n  TRUST_PROXY: must be off, on, or a comma-separated list of proxy addresses or CIDRs (or loopback, linklocal, uniquelocal) (got "maybe")');
});

t.test("SHUTDOWN_TIMEOUT: 10 seconds by default, durations accepted", async (t) => {
  t.equal(loadConfig({}).shutdownTimeoutSeconds, 10);
  t.equal(loadConfig({ SHUTDOWN_TIMEOUT: "1m" }).shutdownTimeoutSeconds, 60);
});

t.test("a token setting's rejected value is never echoed either (e.g. a metrics bearer token)", async (t) => {
  // Every *_TOKEN setting other than the rate limits holds a secret; none may show its value.
  const tokens = Object.values(SETTINGS).filter((s) => /_TOKEN$/.test(s.env) && !s.env.startsWith("RATE_LIMIT_"));
  for (const setting of tokens) {
    let message = "";
    try {
      loadConfig({ [setting.env]: " \u0000hunter2" });
    } catch (e) {
      message = (e as Error).message;
    }
    t.notMatch(message, /hunter2/, `${setting.env} is not echoed`);
  }
  t.equal(shownFor("SOME_TOKEN"), false, "the rule covers token settings not marked secret");
  t.equal(shownFor("RATE_LIMIT_TOKEN"), true, "but not the rate limit of /token");
  t.equal(shownFor("LOG_LEVEL"), true);
});

t.test("browser sessions and branding: SESSION_TTL 1 day, SESSION_IDLE_TTL 1 hour, BRAND_* optional URLs", async (t) => {
  const config = loadConfig({});
  t.equal(config.sessionTtlSeconds, 86400);
  t.equal(config.sessionIdleTtlSeconds, 3600);
  t.equal(config.brandName, "tessera");
  t.equal(config.brandLogoUrl, undefined);
  t.equal(config.brandStylesheetUrl, undefined);
  const branded = loadConfig({ SESSION_TTL: "12h", SESSION_IDLE_TTL: "15m", BRAND_NAME: " Acme ", BRAND_LOGO_URL: "/static/logo.png", BRAND_STYLESHEET_URL: "https://cdn.acme.test/a.css" });
  t.same([branded.sessionTtlSeconds, branded.sessionIdleTtlSeconds, branded.brandName, branded.brandLogoUrl, branded.brandStylesheetUrl], [43200, 900, "Acme", "/static/logo.png", "https://cdn.acme.test/a.css"]);
  t.equal(loadConfig({ BRAND_LOGO_URL: " " }).brandLogoUrl, undefined, "empty: none");
  for (const bad of ["javascript:alert(1)", "logo.png", "//cdn.acme.test/logo.png", "data:image/png;base64,AA"]) {
    t.throws(() => loadConfig({ BRAND_LOGO_URL: bad }), { name: "ConfigError", message: /BRAND_LOGO_URL: must be an absolute http\(s\) URL or a path starting with \// }, bad);
  }
  t.throws(() => loadConfig({ SESSION_IDLE_TTL: "30s" }), { name: "ConfigError", message: /SESSION_IDLE_TTL: must be at least 60 seconds/ });
  t.throws(() => loadConfig({ BRAND_NAME: "" }), { name: "ConfigError", message: /BRAND_NAME: must not be empty/ });
});

t.test("an on/off setting takes on, true, 1 and off, false, 0 in any case; anything else stops the start", async (t) => {
  for (const raw of ["on", "TRUE", " 1 "]) t.equal(loadConfig({ METRICS: raw }).metrics, true, JSON.stringify(raw));
  for (const raw of ["Off", "false", "0"]) t.equal(loadConfig({ METRICS: raw }).metrics, false, JSON.stringify(raw));
  t.throws(() => loadConfig({ METRICS: "maybe" }), { name: "ConfigError", message: /METRICS: must be on or off/ });
});
