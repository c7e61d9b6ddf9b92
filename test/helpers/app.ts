// Builds a tessera app on a fresh database with a settable clock and captured logs.
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../../src/app.js";
import { loadConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";
import type { ClientInput } from "../../src/domain/clients/client-service.js";
import { SettableClock } from "./clock.js";
import { freshDatabaseUrl } from "./database.js";

type Test = { teardown(fn: () => unknown): void };

export type TestApp = {
  app: FastifyInstance;
  config: Config;
  clock: SettableClock;
  /** Every log line written so far. */
  logs: string[];
  /** clientSecret is "" for a client registered with keys (private_key_jwt), which has none. */
  createClient(input?: Partial<ClientInput>): Promise<{ clientId: string; clientSecret: string }>;
};

/** Environment-style settings for a test; DATABASE_URL and TESSERA_KEK are filled in when absent. */
export async function testConfig(t: Test, env: Record<string, string> = {}): Promise<Config> {
  return loadConfig({
    TESSERA_ISSUER: "https://tessera.test",
    // Rate limits off unless a test turns one on: most tests send many requests from one "IP".
    RATE_LIMIT_TOKEN: "0",
    RATE_LIMIT_LOGIN: "0",
    RATE_LIMIT_REFRESH: "0",
    RATE_LIMIT_REVOKE: "0",
    RATE_LIMIT_INTROSPECT: "0",
    LOG_LEVEL: "info",
    TESSERA_KEK_FILE: path.join(os.tmpdir(), "tessera-unused-kek"),
    ...env,
    DATABASE_URL: env.DATABASE_URL ?? (await freshDatabaseUrl(t)),
    TESSERA_KEK: env.TESSERA_KEK ?? randomBytes(32).toString("base64"),
  });
}

export async function buildTestApp(t: Test, env: Record<string, string> = {}, clock = new SettableClock()): Promise<TestApp> {
  const config = await testConfig(t, env);
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const app = await buildApp(config, { clock, logStream });
  t.teardown(() => app.close());
  return {
    app,
    config,
    clock,
    logs,
    async createClient(input = {}) {
      const { client, clientSecret } = await app.services.clientAdmin.create({
        name: "test client",
        grantTypes: ["client_credentials"],
        scopes: ["read", "write"],
        audiences: ["https://api.example.test", "https://other.example.test"],
        ...input,
      });
      return { clientId: client.id, clientSecret: clientSecret ?? "" };
    },
  };
}

export const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;

export const form = (params: Record<string, string | string[]>) => {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const item of [v].flat()) body.append(k, item);
  return body.toString();
};

/**
 * Settings under which database queries can be counted: LOG_LEVEL=trace logs each one ("database
 * query"), and the pollers (client and key reload, pruning) wait an hour, so nothing else queries.
 */
export const COUNT_QUERIES = { LOG_LEVEL: "trace", CACHE_REFRESH: "3600", PRUNE_INTERVAL: "3600" };

/** The "database query" log lines so far, parsed (see COUNT_QUERIES). */
export const queryLogs = (logs: string[]): Record<string, unknown>[] =>
  logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.msg === "database query");
