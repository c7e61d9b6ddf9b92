// Every setting tessera reads, with its environment variable, default, unit and reason.
// This is the single source of truth: load.ts validates against it, README's table mirrors it.
import { isIP } from "node:net";

export const SIGNING_ALGS = ["RS256", "PS256", "ES256", "EdDSA"] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type Config = Readonly<{
  /** PORT: TCP port to listen on; 0 picks a free one. */
  port: number;
  /** HOST: interface to bind; loopback by default so a dev server is not exposed by accident. */
  host: string;
  /** TESSERA_ISSUER: the `iss` of every token and the base of the metadata URLs. Default http://HOST:PORT. */
  issuer: string;
  /** DATABASE_URL: `file:<path>` (SQLite, the default ./data/tessera.db) or `postgresql://…`. */
  databaseUrl: string;
  /** TESSERA_KEK: base64 of 32 bytes that seal the private signing keys. Unset: read from kekFile. */
  kek: string | undefined;
  /** TESSERA_KEK_FILE: where the KEK is kept when TESSERA_KEK is unset; created 0600 on first start. */
  kekFile: string;
  /** ACCESS_TOKEN_TTL: seconds an access token lives; 15 min keeps an unrevocable JWT's window short. */
  accessTokenTtlSeconds: number;
  /** REFRESH_TOKEN_TTL: absolute lifetime of a refresh-token family (30 days). */
  refreshTokenTtlSeconds: number;
  /** REFRESH_IDLE_TTL: a refresh token unused this long expires (7 days). */
  refreshIdleTtlSeconds: number;
  /** KEY_ROTATION_INTERVAL: age at which a new signing key is made automatically (30 days). */
  keyRotationIntervalSeconds: number;
  /** KEY_ACTIVATION_DELAY: a new key is published this long before it signs; default JWKS_MAX_AGE,
   *  so every cached JWKS has seen it before the first token it signs. */
  keyActivationDelaySeconds: number;
  /** JWKS_MAX_AGE: Cache-Control max-age of the JWKS, seconds (5 min). */
  jwksMaxAgeSeconds: number;
  /** SIGNING_ALG: JWS algorithm of new signing keys. RS256 is what every resource server accepts. */
  signingAlg: SigningAlg;
  /** CLOCK_SKEW: seconds of clock difference tolerated between tessera and resource servers. */
  clockSkewSeconds: number;
  /** CACHE_REFRESH: seconds between checks for client and key changes made by other instances. */
  cacheRefreshSeconds: number;
  /** PRUNE_INTERVAL: seconds between deletions of expired blocklist entries and dead refresh tokens. */
  pruneIntervalSeconds: number;
  /** RATE_LIMIT_TOKEN: /token requests per minute per authenticated client, and failed client
   *  authentications per minute per IP address (http/plugins/rate-limits.ts); 0 = off.
   *  A client-credentials client caches its token for its lifetime, so 10/s is generous. */
  rateLimitToken: number;
  /** RATE_LIMIT_LOGIN: /login requests per minute per IP; 0 = off. */
  rateLimitLogin: number;
  /** RATE_LIMIT_REFRESH: /refresh and /logout requests per minute per IP; 0 = off. */
  rateLimitRefresh: number;
  /** RATE_LIMIT_REVOKE: /revoke requests per minute per client (failures per IP, as /token); 0 = off. */
  rateLimitRevoke: number;
  /** RATE_LIMIT_INTROSPECT: /introspect requests per minute per client (failures per IP, as /token);
   *  resource servers ask often. */
  rateLimitIntrospect: number;
  /** REDIS_URL: shared rate-limit counters for several instances; unset keeps them in memory. */
  redisUrl: string | undefined;
  /** TRUST_PROXY: "off", "on" (trust X-Forwarded-For from anywhere) or the proxies' addresses/CIDRs,
   *  comma-separated. Behind a proxy the per-IP rate limits need it, or every client shares one IP. */
  trustProxy: boolean | string;
  /** BODY_LIMIT: largest request body in bytes; OAuth requests are small (64 KiB). */
  bodyLimitBytes: number;
  /** METRICS: serve GET /metrics and time every request ("on"), or not ("off"). */
  metrics: boolean;
  /** LOG_LEVEL: pino level; `debug` adds one line per request (with its headers), `trace` its body and one line per database query (SQL text, no values). */
  logLevel: LogLevel;
  /** REFRESH_REUSE_GRACE: seconds after a rotation in which the rotated token, presented again while
   *  its successor is unused, rotates again (a client retrying after a lost answer) instead of counting
   *  as theft; the replaced successor dies. 0 (default): any replay 2 s or more after the rotation is
   *  theft, as RFC 9700 §4.14.2 has it. A grace lets a thief who replays within it go undetected.
   *  At most 5 min (300), as Hydra caps its rotation_grace_period. */
  refreshReuseGraceSeconds: number;
  /** SHUTDOWN_TIMEOUT: on SIGTERM/SIGINT, seconds to let requests already received finish before
   *  the remaining connections are cut and the process exits (10 s, under the usual 30 s an
   *  orchestrator waits before SIGKILL). */
  shutdownTimeoutSeconds: number;
  /** METRICS_TOKEN: when set, GET /metrics requires `Authorization: Bearer <it>` (its series name
   *  clients); unset, /metrics is open and belongs on a network only the scraper reaches. A secret:
   *  at least 32 characters of RFC 6750's b64token alphabet, e.g. `openssl rand -base64 32`. */
  metricsToken: string | undefined;
  /** CORS_ORIGINS: browser origins (exact, comma-separated) that may call /token, /revoke, /introspect,
   *  the JWKS and the metadata, and /login, /refresh and /logout with credentials. None by default:
   *  every origin allowed is one more page that can drive the cookie-based refresh. */
  corsOrigins: readonly string[];
  /** STATUS_LIST: every access token carries a Token Status List entry (`status.status_list`,
   *  draft-ietf-oauth-status-list) and GET /statuslists/:id serves the lists ("on"), or not ("off"). */
  statusList: boolean;
  /** STATUS_LIST_TTL: seconds a resource server may keep a status list before fetching it again (its
   *  `ttl` claim and Cache-Control max-age): a revocation reaches it within this plus CACHE_REFRESH.
   *  60 s: a list of 2^20 entries is ~15 KB at 1% revoked, cheap to refetch every minute. */
  statusListTtlSeconds: number;
  /** SESSION_TTL: absolute lifetime of a browser session (the tessera_session cookie of the sign-in
   *  page), 1 day: after it the user types the password again, whatever they did meanwhile. */
  sessionTtlSeconds: number;
  /** SESSION_IDLE_TTL: a browser session unused this long ends (1 hour), so a forgotten browser on
   *  a shared computer does not stay signed in for the whole day. */
  sessionIdleTtlSeconds: number;
  /** BRAND_NAME: the product name on the sign-in, consent and error pages. */
  brandName: string;
  /** BRAND_LOGO_URL: an https (or same-origin path) image shown on the pages; unset: none. The pages'
   *  CSP allows its origin. */
  brandLogoUrl: string | undefined;
  /** BRAND_STYLESHEET_URL: a stylesheet loaded after tessera's own; unset: none. The CSP allows its origin. */
  brandStylesheetUrl: string | undefined;
  /** DPOP_NONCE: "on" makes every DPoP proof carry a nonce from tessera (RFC 9449 §8-9): a proof made
   *  ahead of time, by a key stolen for a while, goes stale. Off by default: it costs a round trip. */
  dpopNonce: boolean;
  /** REQUIRE_PAR: "on" makes /authorize take only pushed requests (RFC 9126 §5), for every client;
   *  off: only clients registered with require_pushed_authorization_requests. */
  requirePar: boolean;
  /** PAR_TTL: seconds a pushed request's request_uri stays usable (RFC 9126 §2.2: short; at most 60). */
  parTtlSeconds: number;
}>;

type Parser<T> = (raw: string) => T;

export type Setting<K extends keyof Config> = {
  env: string;
  /** The default as an environment value would spell it; undefined means derived or optional. */
  default: string | undefined;
  parse: Parser<Config[K]>;
  /** The value may hold a secret: a rejected value is never echoed (load.ts). */
  secret?: boolean;
};

export const DURATION = /^(\d+)(s|m|h|d)?$/;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** "900", "900s", "15m", "12h", "30d" → seconds. */
export const seconds = (min: number): Parser<number> => (raw) => {
  const m = DURATION.exec(raw.trim());
  if (!m) throw new Error(`must be a duration such as 900, 15m, 12h or 30d`);
  const value = Number(m[1]) * UNIT_SECONDS[m[2] ?? "s"]!;
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`must be at least ${min} seconds`);
  return value;
};

const integer = (min: number, max: number): Parser<number> => (raw) => {
  const value = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || value < min || value > max) throw new Error(`must be a whole number from ${min} to ${max}`);
  return value;
};

const oneOf = <T extends string>(values: readonly T[]): Parser<T> => (raw) => {
  const found = values.find((v) => v === raw.trim());
  if (!found) throw new Error(`must be one of ${values.join(", ")}`);
  return found;
};

const onOff: Parser<boolean> = (raw) => {
  const value = raw.trim().toLowerCase();
  if (value === "on" || value === "true" || value === "1") return true;
  if (value === "off" || value === "false" || value === "0") return false;
  throw new Error("must be on or off");
};

const text: Parser<string> = (raw) => {
  if (raw.trim() === "") throw new Error("must not be empty");
  return raw.trim();
};

const issuerUrl: Parser<string> = (raw) => {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new Error("must be an absolute http(s) URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error("must be an http(s) URL");
  if (url.search || url.hash) throw new Error("must not have a query or fragment (RFC 8414 §2)");
  return raw.trim().replace(/\/+$/, "");
};

const databaseUrl: Parser<string> = (raw) => {
  const value = raw.trim();
  if (/^postgres(ql)?:\/\/.+/.test(value) || /^file:.+/.test(value)) return value;
  throw new Error("must be file:<path> for SQLite or postgresql://… for PostgreSQL");
};

const redisUrl: Parser<string | undefined> = (raw) => {
  const value = raw.trim();
  if (value === "") return undefined;
  if (!/^rediss?:\/\/.+/.test(value)) throw new Error("must be redis://host:port or rediss://…");
  return value;
};

// REFRESH_REUSE_GRACE's cap: 5 min, as Hydra caps rotation_grace_period (without a reuse count).
const atMost =
  (max: number, parse: Parser<number>): Parser<number> =>
  (raw) => {
    const value = parse(raw);
    if (value > max) throw new Error(`must be at most ${max} seconds`);
    return value;
  };

/** Browser origins as the Origin header spells them: scheme://host[:port], nothing after. */
const origins: Parser<readonly string[]> = (raw) => {
  const list = raw.split(",").map((origin) => origin.trim()).filter((origin) => origin !== "");
  for (const origin of list) {
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "https:" && url.protocol !== "http:") || url.origin !== origin) {
      throw new Error("must be exact origins such as https://app.example.com (scheme, lower-case host, optional port; no path, no trailing slash, no wildcard), comma-separated");
    }
  }
  return Object.freeze(list);
};

const kek: Parser<string | undefined> = (raw) => {
  if (raw.trim() === "") return undefined;
  if (Buffer.from(raw.trim(), "base64").length !== 32) throw new Error("must be base64 of exactly 32 bytes");
  return raw.trim();
};

const PROXY_KEYWORDS = ["loopback", "linklocal", "uniquelocal"];
/** "off", "on", or a comma-separated list of addresses, CIDRs and proxy-addr's keywords. */
const trustProxy: Parser<boolean | string> = (raw) => {
  const value = raw.trim();
  if (value === "off") return false;
  if (value === "on") return true;
  const entries = value.split(",").map((s) => s.trim());
  const valid = (entry: string) => {
    if (PROXY_KEYWORDS.includes(entry)) return true;
    const [address = "", prefix, ...rest] = entry.split("/");
    const family = isIP(address);
    if (!family || rest.length) return false;
    if (prefix === undefined) return true;
    if (/^\d{1,3}$/.test(prefix)) return Number(prefix) <= (family === 4 ? 32 : 128);
    return family === 4 && isIP(prefix) === 4; // a netmask such as 255.255.255.0
  };
  if (value === "" || !entries.every(valid)) {
    throw new Error(`must be off, on, or a comma-separated list of proxy addresses or CIDRs (or ${PROXY_KEYWORDS.join(", ")})`);
  }
  return entries.join(",");
};

// RFC 6750 §2.1 b64token, the characters a Bearer credential may hold.
const bearerToken: Parser<string | undefined> = (raw) => {
  const value = raw.trim();
  if (value === "") return undefined;
  if (value.length < 32 || !/^[A-Za-z0-9\-._~+/]+=*$/.test(value)) {
    throw new Error("must be at least 32 characters of A-Z a-z 0-9 - . _ ~ + / (and = at the end), such as openssl rand -base64 32 prints");
  }
  return value;
};

/** An absolute https URL, an http one, or a path on this server ("/…"), for page assets. */
const assetUrl: Parser<string | undefined> = (raw) => {
  const value = raw.trim();
  if (value === "") return undefined;
  if (/^\/(?!\/)/.test(value)) return value;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) throw new Error("must be an absolute http(s) URL or a path starting with /");
  return url.href;
};

export const SETTINGS: { [K in keyof Config]: Setting<K> } = {
  port: { env: "PORT", default: "3000", parse: integer(0, 65535) },
  host: { env: "HOST", default: "127.0.0.1", parse: text },
  issuer: { env: "TESSERA_ISSUER", default: undefined, parse: issuerUrl },
  databaseUrl: { env: "DATABASE_URL", default: "file:./data/tessera.db", parse: databaseUrl, secret: true },
  kek: { env: "TESSERA_KEK", default: undefined, parse: kek, secret: true },
  kekFile: { env: "TESSERA_KEK_FILE", default: "keys/kek", parse: text },
  accessTokenTtlSeconds: { env: "ACCESS_TOKEN_TTL", default: "900", parse: seconds(1) },
  refreshTokenTtlSeconds: { env: "REFRESH_TOKEN_TTL", default: "30d", parse: seconds(1) },
  refreshIdleTtlSeconds: { env: "REFRESH_IDLE_TTL", default: "7d", parse: seconds(1) },
  keyRotationIntervalSeconds: { env: "KEY_ROTATION_INTERVAL", default: "30d", parse: seconds(60) },
  keyActivationDelaySeconds: { env: "KEY_ACTIVATION_DELAY", default: undefined, parse: seconds(0) },
  jwksMaxAgeSeconds: { env: "JWKS_MAX_AGE", default: "300", parse: seconds(0) },
  signingAlg: { env: "SIGNING_ALG", default: "RS256", parse: oneOf(SIGNING_ALGS) },
  clockSkewSeconds: { env: "CLOCK_SKEW", default: "60", parse: seconds(0) },
  cacheRefreshSeconds: { env: "CACHE_REFRESH", default: "2", parse: seconds(1) },
  pruneIntervalSeconds: { env: "PRUNE_INTERVAL", default: "1h", parse: seconds(1) },
  rateLimitToken: { env: "RATE_LIMIT_TOKEN", default: "600", parse: integer(0, 10_000_000) },
  rateLimitLogin: { env: "RATE_LIMIT_LOGIN", default: "60", parse: integer(0, 10_000_000) },
  rateLimitRefresh: { env: "RATE_LIMIT_REFRESH", default: "120", parse: integer(0, 10_000_000) },
  rateLimitRevoke: { env: "RATE_LIMIT_REVOKE", default: "600", parse: integer(0, 10_000_000) },
  rateLimitIntrospect: { env: "RATE_LIMIT_INTROSPECT", default: "12000", parse: integer(0, 10_000_000) },
  redisUrl: { env: "REDIS_URL", default: undefined, parse: redisUrl, secret: true },
  trustProxy: { env: "TRUST_PROXY", default: "off", parse: trustProxy },
  bodyLimitBytes: { env: "BODY_LIMIT", default: "65536", parse: integer(1024, 10 * 1024 * 1024) },
  metrics: { env: "METRICS", default: "on", parse: onOff },
  logLevel: { env: "LOG_LEVEL", default: "info", parse: oneOf(LOG_LEVELS) },
  refreshReuseGraceSeconds: { env: "REFRESH_REUSE_GRACE", default: "0", parse: atMost(300, seconds(0)) },
  shutdownTimeoutSeconds: { env: "SHUTDOWN_TIMEOUT", default: "10", parse: seconds(0) },
  metricsToken: { env: "METRICS_TOKEN", default: undefined, parse: bearerToken, secret: true },
  corsOrigins: { env: "CORS_ORIGINS", default: "", parse: origins },
  statusList: { env: "STATUS_LIST", default: "on", parse: onOff },
  statusListTtlSeconds: { env: "STATUS_LIST_TTL", default: "60", parse: atMost(86400, seconds(1)) },
  sessionTtlSeconds: { env: "SESSION_TTL", default: "1d", parse: seconds(60) },
  sessionIdleTtlSeconds: { env: "SESSION_IDLE_TTL", default: "1h", parse: seconds(60) },
  brandName: { env: "BRAND_NAME", default: "tessera", parse: text },
  brandLogoUrl: { env: "BRAND_LOGO_URL", default: undefined, parse: assetUrl },
  brandStylesheetUrl: { env: "BRAND_STYLESHEET_URL", default: undefined, parse: assetUrl },
  dpopNonce: { env: "DPOP_NONCE", default: "off", parse: onOff },
  requirePar: { env: "REQUIRE_PAR", default: "off", parse: onOff },
  parTtlSeconds: { env: "PAR_TTL", default: "60", parse: atMost(60, seconds(5)) },
};
