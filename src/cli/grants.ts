// tessera grants list|revoke: remembered consents (what a user let a client do) and their ending.
import { parseArgs } from "node:util";
import type { Config } from "../config/schema.js";
import { ConsentService } from "../domain/authorization/consent.js";
import { grantJson, grantRevocationJson } from "../domain/authorization/grant-json.js";
import { systemClock } from "../domain/clock.js";
import { UserService } from "../domain/users/user-service.js";
import { ValidationError } from "../errors/internal.js";
import { AuditRepository } from "../storage/audit.js";
import { AuthorizationCodeRepository } from "../storage/authorization-codes.js";
import { BrowserSessionRepository } from "../storage/browser-sessions.js";
import { GrantRepository } from "../storage/grants.js";
import { RefreshTokenRepository } from "../storage/refresh-tokens.js";
import { UserRepository } from "../storage/users.js";
import { withDb } from "./db.js";
import { printer } from "./output.js";

export const GRANTS_USAGE = `tessera grants list --user USERNAME
tessera grants revoke --user USERNAME --client CLIENT_ID
tessera grants revoke --grant GRANT_ID
  A grant is a user's remembered consent to a client (its scopes and audiences). Revoking it ends the
  consent (the next sign-in asks again), the refresh tokens issued under it and their live access tokens.`;

const ACTOR = "cli";

const OPTIONS = {
  json: { type: "boolean" },
  user: { type: "string" },
  client: { type: "string" },
  grant: { type: "string" },
} as const;

export async function grantsCommand(config: Config, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  const action = positionals[0];
  const print = printer(values.json ?? false);
  await withDb(config, async (db) => {
    const audit = new AuditRepository(db);
    const refreshTokens = new RefreshTokenRepository(db);
    const users = new UserService({ repo: new UserRepository(db), audit, clock: systemClock, sessions: refreshTokens, browserSessions: new BrowserSessionRepository(db) });
    const grants = new ConsentService({ grants: new GrantRepository(db), codes: new AuthorizationCodeRepository(db), refreshTokens, audit, clock: systemClock });
    const userId = async () => {
      if (!values.user) throw new ValidationError("user: --user is required");
      return (await users.byUsername(values.user)).id;
    };
    switch (action) {
      case "list":
        return print((await grants.listOfUser(await userId())).map(grantJson));
      case "revoke":
        if (values.grant !== undefined) {
          if (values.user !== undefined || values.client !== undefined) throw new ValidationError("use --grant alone, or --user with --client");
          return print(grantRevocationJson(await grants.revokeById(values.grant, ACTOR)));
        }
        if (!values.client) throw new ValidationError("client: --client is required (or --grant GRANT_ID)");
        return print(grantRevocationJson(await grants.revokeFor(await userId(), values.client, ACTOR)));
      default:
        throw new ValidationError(`unknown grants command ${JSON.stringify(action ?? "")}\n${GRANTS_USAGE}`);
    }
  });
}
