// tessera users create|set-password|disable|enable|list|delete|sessions|end-sessions
import { parseArgs } from "node:util";
import type { Config } from "../config/schema.js";
import { deriveKey, loadKek } from "../crypto/kek.js";
import { systemClock } from "../domain/clock.js";
import { KeyRing } from "../domain/keys/key-ring.js";
import type { Logger } from "../domain/logger.js";
import { NO_METRICS } from "../domain/metrics.js";
import { RefreshTokenService } from "../domain/tokens/refresh-token-service.js";
import { sessionJson } from "../domain/users/user-json.js";
import { UserService } from "../domain/users/user-service.js";
import { ValidationError } from "../errors/internal.js";
import { AuditRepository } from "../storage/audit.js";
import type { Db } from "../storage/prisma.js";
import { RefreshTokenRepository } from "../storage/refresh-tokens.js";
import { RevokedAccessTokenRepository } from "../storage/revoked-access-tokens.js";
import { SigningKeyRepository } from "../storage/signing-keys.js";
import { UserRepository } from "../storage/users.js";
import { withDb } from "./db.js";
import { printer } from "./output.js";
import { readPassword } from "./password-input.js";

export const USERS_USAGE = `tessera users create --username NAME [--password-stdin]
tessera users set-password --username NAME [--password-stdin]
tessera users disable --username NAME
tessera users enable --username NAME
tessera users list
tessera users delete --username NAME
tessera users sessions --username NAME
tessera users end-sessions --username NAME`;

const ACTOR = "cli";

const stderrLog: Logger = { trace() {}, info() {}, warn: (_obj, msg) => console.error(`tessera: ${msg}`), error: (_obj, msg) => console.error(`tessera: ${msg}`) };

/**
 * The refresh-token service, for ending sessions (revoking families, blocklisting their live access
 * tokens), which signs nothing and reads no presented token: its key ring stays unloaded, and the KEK
 * is read only if something asked for the digest key, so these commands never create keys/kek.
 */
function refreshTokenService(config: Config, db: Db, audit: AuditRepository, repo: RefreshTokenRepository): RefreshTokenService {
  const kek = () => loadKek(config.kek, config.kekFile);
  const keyRing = { repo: new SigningKeyRepository(db), alg: config.signingAlg, clock: systemClock, lingerSeconds: () => 0, get kek() { return kek(); } };
  return new RefreshTokenService({
    config,
    clock: systemClock,
    metrics: NO_METRICS,
    log: stderrLog,
    audit,
    repo,
    blocklist: new RevokedAccessTokenRepository(db),
    keys: new KeyRing(keyRing),
    get digestKey() {
      return deriveKey(kek(), "refresh token digest");
    },
  });
}

const OPTIONS = {
  json: { type: "boolean" },
  username: { type: "string" },
  "password-stdin": { type: "boolean" },
} as const;

export async function usersCommand(config: Config, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  const action = positionals[0];
  const print = printer(values.json ?? false);
  const username = () => {
    if (!values.username) throw new ValidationError("username: --username is required");
    return values.username;
  };
  const view = ({ id, username: name, enabled }: { id: string; username: string; enabled: boolean }) => ({ id, username: name, enabled });
  // Read the password before opening the database, so a prompt does not hold a connection.
  const password = action === "create" || action === "set-password" ? await readPassword(values["password-stdin"] ?? false) : "";
  await withDb(config, async (db) => {
    const audit = new AuditRepository(db);
    const families = new RefreshTokenRepository(db);
    const refreshTokens = refreshTokenService(config, db, audit, families);
    const users = new UserService({ repo: new UserRepository(db), audit, clock: systemClock, families, refreshTokens });
    const userId = async () => (await users.byUsername(username())).id;
    switch (action) {
      case "create":
        return print(view(await users.create(username(), password, ACTOR)));
      case "set-password":
        return print(view(await users.setPassword(username(), password, ACTOR)));
      case "disable":
        return print(view(await users.setEnabled(username(), false, ACTOR)));
      case "enable":
        return print(view(await users.setEnabled(username(), true, ACTOR)));
      case "list":
        return print((await users.list()).map(view));
      case "delete":
        return print({ deleted: (await users.delete(await userId(), ACTOR)).id });
      case "sessions":
        return print((await users.sessions(await userId())).map(sessionJson));
      case "end-sessions":
        return print({ sessions_ended: await users.endSessions(await userId(), ACTOR) });
      default:
        throw new ValidationError(`unknown users command ${JSON.stringify(action ?? "")}\n${USERS_USAGE}`);
    }
  });
}
