// tessera users create|update|set-password|disable|enable|list|delete|sessions|end-sessions
import { parseArgs } from "node:util";
import type { Config } from "../config/schema.js";
import { systemClock } from "../domain/clock.js";
import { sessionJson } from "../domain/users/user-json.js";
import { userJson } from "../domain/users/user-json.js";
import { UserService, type ProfileChanges, type UserView } from "../domain/users/user-service.js";
import { ValidationError } from "../errors/internal.js";
import { AuditRepository } from "../storage/audit.js";
import { BrowserSessionRepository } from "../storage/browser-sessions.js";
import { RefreshTokenRepository } from "../storage/refresh-tokens.js";
import { UserRepository } from "../storage/users.js";
import { withDb } from "./db.js";
import { printer } from "./output.js";
import { readPassword } from "./password-input.js";

export const USERS_USAGE = `tessera users create --username NAME [--password-stdin] [--name TEXT] [--email ADDRESS [--email-verified]]
tessera users update --username NAME [--new-username NAME] [--name TEXT] [--email ADDRESS] [--email-verified | --email-unverified]
  (--name "" or --email "" clears it; a new email is unverified unless --email-verified is given)
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
  "new-username": { type: "string" },
  name: { type: "string" },
  email: { type: "string" },
  "email-verified": { type: "boolean" },
  "email-unverified": { type: "boolean" },
} as const;

type Values = { name?: string | undefined; email?: string | undefined; "email-verified"?: boolean | undefined; "email-unverified"?: boolean | undefined };

/** The OpenID Connect profile options as the service takes them: "" clears a field. */
function profileOptions(values: Values): ProfileChanges {
  if (values["email-verified"] && values["email-unverified"]) throw new ValidationError("email_verified: give --email-verified or --email-unverified, not both");
  const cleared = (value: string | undefined) => (value === "" ? null : value);
  return {
    ...(values.name !== undefined && { name: cleared(values.name) }),
    ...(values.email !== undefined && { email: cleared(values.email) }),
    ...(values["email-verified"] && { email_verified: true }),
    ...(values["email-unverified"] && { email_verified: false }),
  };
}

export async function usersCommand(config: Config, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  const action = positionals[0];
  const print = printer(values.json ?? false);
  const username = () => {
    if (!values.username) throw new ValidationError("username: --username is required");
    return values.username;
  };
  // The profile fields only where one is set: the output of users without one stays as it was.
  const view = (user: UserView) => {
    const { id, username: name, enabled, name: fullName, email, email_verified } = userJson(user);
    return { id, username: name, enabled, ...(fullName !== null && { name: fullName }), ...(email !== null && { email, email_verified }) };
  };
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
        return print(view(await users.create(username(), password, ACTOR, profileOptions(values))));
      case "update":
        return print(view(await users.update(await userId(), { ...profileOptions(values), ...(values["new-username"] !== undefined && { username: values["new-username"] }) }, ACTOR)));
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
