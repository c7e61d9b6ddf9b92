// tessera users create|set-password|disable|enable|list|delete|sessions|end-sessions
import { parseArgs } from "node:util";
import type { Config } from "../config/schema.js";
import { systemClock } from "../domain/clock.js";
import { sessionJson } from "../domain/users/user-json.js";
import { UserService } from "../domain/users/user-service.js";
import { ValidationError } from "../errors/internal.js";
import { AuditRepository } from "../storage/audit.js";
import { BrowserSessionRepository } from "../storage/browser-sessions.js";
import { RefreshTokenRepository } from "../storage/refresh-tokens.js";
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
    const users = new UserService({
      repo: new UserRepository(db),
      audit: new AuditRepository(db),
      clock: systemClock,
      sessions: new RefreshTokenRepository(db),
      browserSessions: new BrowserSessionRepository(db),
    });
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
