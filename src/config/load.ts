// Reads the environment once, validates every setting against schema.ts and freezes the result.
// The only module that reads process.env.
import { ConfigError } from "../errors/internal.js";
import { SETTINGS, type Config, type Setting } from "./schema.js";

type Env = Record<string, string | undefined>;

/** Names of settings that hold a secret even when schema.ts does not mark them (a KEK, a token). */
const SECRET_NAME = /KEK|SECRET|PASSWORD|CREDENTIAL|(?<!RATE_LIMIT)_TOKEN$/;

/** Whether a rejected value of the variable `env` may be shown: never for a secret-bearing setting. */
export const echoesValue = (env: string, secret = false): boolean => !secret && !SECRET_NAME.test(env);

/** What a rejected value may show: nothing of a secret-bearing setting, however it is mistyped. */
const shown = (setting: Setting<keyof Config>, raw: string): string =>
  echoesValue(setting.env, setting.secret) ? ` (got ${JSON.stringify(raw)})` : "";

/** The issuer when TESSERA_ISSUER is unset: http://HOST:PORT, an IPv6 host in brackets. */
export const defaultIssuer = (host: string, port: number): string => `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

export function loadConfig(env: Env = process.env): Config {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, setting] of Object.entries(SETTINGS)) {
    const raw = env[setting.env] ?? setting.default;
    if (raw === undefined) continue;
    try {
      values[key] = setting.parse(raw);
    } catch (e) {
      problems.push(`${setting.env}: ${(e as Error).message}${shown(setting as Setting<keyof Config>, raw)}`);
    }
  }
  if (problems.length) throw new ConfigError(`invalid configuration\n  ${problems.join("\n  ")}`);

  const partial = values as Omit<Config, "issuer" | "keyActivationDelaySeconds"> & Partial<Config>;
  return Object.freeze({
    ...partial,
    issuer: partial.issuer ?? defaultIssuer(partial.host, partial.port),
    keyActivationDelaySeconds: partial.keyActivationDelaySeconds ?? partial.jwksMaxAgeSeconds,
  });
}
