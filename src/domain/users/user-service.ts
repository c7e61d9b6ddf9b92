// Users: registration, passwords (argon2id), and sign-in checks.
import { randomUUID } from "node:crypto";
import { dummyPasswordHash, hashPassword, verifyPassword } from "../../crypto/passwords.js";
import { NotFoundError, ValidationError } from "../../errors/internal.js";
import { InvalidGrant } from "../../errors/oauth.js";
import type { AuditRepository } from "../../storage/audit.js";
import type { RefreshTokenRepository } from "../../storage/refresh-tokens.js";
import type { UserRecord, UserRepository } from "../../storage/users.js";
import type { Clock } from "../clock.js";
import { SignInThrottle } from "./sign-in-throttle.js";

export type UserView = Omit<UserRecord, "passwordHash">;

const viewOf = ({ passwordHash: _h, ...view }: UserRecord): UserView => view;

const USERNAME = /^[\p{L}\p{N}._@+-]{1,128}$/u;
const MIN_PASSWORD = 8; // NIST SP 800-63B's floor for chosen passwords
const MAX_PASSWORD = 1024; // argon2 takes any length; a cap stops megabyte "passwords"

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD || password.length > MAX_PASSWORD) {
    throw new ValidationError(`password: must be ${MIN_PASSWORD} to ${MAX_PASSWORD} characters`);
  }
}

export type UserServiceOptions = {
  repo: UserRepository;
  audit: AuditRepository;
  clock: Clock;
  /** the refresh-token families, ended when a password changes */
  sessions: RefreshTokenRepository;
};

/** Changes are audited under `actor` ("cli", "admin:<client_id>", …); sign-ins are not. */
export class UserService {
  readonly #repo: UserRepository;
  readonly #audit: AuditRepository;
  readonly #clock: Clock;
  readonly #sessions: RefreshTokenRepository;
  readonly #throttle: SignInThrottle;

  constructor(options: UserServiceOptions) {
    this.#repo = options.repo;
    this.#audit = options.audit;
    this.#clock = options.clock;
    this.#sessions = options.sessions;
    this.#throttle = new SignInThrottle(options.clock);
  }

  async create(username: string, password: string, actor = "system"): Promise<UserView> {
    if (!USERNAME.test(username)) throw new ValidationError("username: 1 to 128 letters, digits or . _ @ + -");
    checkPassword(password);
    const user = await this.#repo.createIfUsernameFree({ id: randomUUID(), username, passwordHash: await hashPassword(password) });
    if (!user) throw new ValidationError(`username: ${username} is taken`);
    return this.#written(actor, "user.create", user);
  }

  /**
   * Sets the password and ends every session of the user (OWASP Session Management: renew sessions
   * after a password change): each refresh-token family is revoked and its live access tokens are
   * blocklisted, in one transaction after the new hash is stored. Run again after a failure in
   * between, it ends what is left. Every caller (CLI, admin API) gets this through here.
   */
  async setPassword(username: string, password: string, actor = "system"): Promise<UserView> {
    checkPassword(password);
    const user = await this.#byUsername(username);
    const updated = (await this.#repo.update(user.id, { passwordHash: await hashPassword(password) })) ?? user;
    const ended = await this.#sessions.revokeUserFamilies(user.id, "password_change", new Date(this.#clock.now()));
    return this.#written(actor, "user.set_password", updated, { sessionsEnded: ended.families, accessTokensRevoked: ended.accessTokensRevoked });
  }

  async setEnabled(username: string, enabled: boolean, actor = "system"): Promise<UserView> {
    const user = await this.#byUsername(username);
    return this.#written(actor, enabled ? "user.enable" : "user.disable", (await this.#repo.update(user.id, { enabled })) ?? user);
  }

  async list(): Promise<UserView[]> {
    return (await this.#repo.list()).map(viewOf);
  }

  /**
   * The user, if the password is right and the account enabled. Every failure is the same
   * invalid_grant, and an unknown username is checked against a dummy hash so it takes as long.
   * Repeated failures for one username back off (SignInThrottle), known user or not.
   */
  async authenticate(username: string, password: string): Promise<UserView> {
    this.#throttle.check(username);
    // A name that cannot exist is not looked up (PostgreSQL refuses NUL characters in text).
    const user = USERNAME.test(username) ? await this.#repo.findByUsername(username) : null;
    const ok = await verifyPassword(user?.passwordHash ?? (await dummyPasswordHash()), password);
    if (!user || !ok || !user.enabled) {
      this.#throttle.failed(username);
      throw new InvalidGrant("invalid username or password");
    }
    this.#throttle.succeeded(username);
    return viewOf(user);
  }

  async #written(actor: string, action: string, user: UserRecord, details: Record<string, unknown> = {}): Promise<UserView> {
    await this.#audit.record({ at: new Date(this.#clock.now()), actor, action, target: `user:${user.id}`, details: { username: user.username, ...details } });
    return viewOf(user);
  }

  async #byUsername(username: string): Promise<UserRecord> {
    const user = await this.#repo.findByUsername(username);
    if (!user) throw new NotFoundError(`user ${username} not found`);
    return user;
  }
}
