// Users: registration, passwords (argon2id), and sign-in checks.
import { randomUUID } from "node:crypto";
import { dummyPasswordHash, hashPassword, verifyPassword } from "../../crypto/passwords.js";
import { NotFoundError, ValidationError } from "../../errors/internal.js";
import { InvalidGrant } from "../../errors/oauth.js";
import type { AuditRepository } from "../../storage/audit.js";
import type { BrowserSessionRepository } from "../../storage/browser-sessions.js";
import type { FamilySummary, RefreshTokenRepository } from "../../storage/refresh-tokens.js";
import type { UserProfile, UserRecord, UserRepository } from "../../storage/users.js";
import type { Clock } from "../clock.js";
import { SignInThrottle } from "./sign-in-throttle.js";

export type UserView = Omit<UserRecord, "passwordHash">;

/** A sign-in that can still refresh: one refresh-token family. */
export type UserSession = { id: string; clientId: string; clientName: string; createdAt: Date; lastUsedAt: Date; expiresAt: Date };

/** What an administrator may change on a user (PATCH /admin/users/:id); absent fields stay as they are. */
export type UserChanges = { username?: string; enabled?: boolean; password?: string } & ProfileChanges;

/**
 * OpenID Connect profile fields as the admin API and the CLI name them; null clears name or email.
 * A new email is unverified unless email_verified is given with it: tessera sends no mail, so only an
 * administrator who checked the address can say it is verified.
 */
export type ProfileChanges = { name?: string | null; email?: string | null; email_verified?: boolean };

export const MAX_PAGE = 500;

const viewOf = ({ passwordHash: _h, ...view }: UserRecord): UserView => view;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const USERNAME = /^[\p{L}\p{N}._@+-]{1,128}$/u;
const MIN_PASSWORD = 8; // NIST SP 800-63B's floor for chosen passwords
const MAX_PASSWORD = 1024; // argon2 takes any length; a cap stops megabyte "passwords"

function checkUsername(username: string): void {
  if (!USERNAME.test(username)) throw new ValidationError("username: 1 to 128 letters, digits or . _ @ + -");
}

// The profile is shown to relying parties as claims: printable text, bounded. An email address is
// checked for its shape only (one @, no spaces), as RFC 5322 allows far more than anyone types.
const NAME = /^[^\p{Cc}]{1,256}$/u;
export const EMAIL = /^[^\s@\p{Cc}]{1,64}@[^\s@\p{Cc}]{1,189}$/u;

/** The profile fields to write, checked: name and email as given (null clears), emailVerified as decided above. */
function profileOf(changes: ProfileChanges, current?: UserRecord): UserProfile {
  const { name, email, email_verified: verified } = changes;
  if (name !== undefined && name !== null && !NAME.test(name)) throw new ValidationError("name: 1 to 256 characters, no control characters");
  if (email !== undefined && email !== null && !EMAIL.test(email)) throw new ValidationError("email: an email address (local@domain, no spaces)");
  if (verified === true && (email === null || (email === undefined && !current?.email))) throw new ValidationError("email_verified: the user has no email");
  const emailChanged = email !== undefined && email !== (current?.email ?? null);
  return {
    ...(name !== undefined && { name }),
    ...(email !== undefined && { email }),
    ...(verified !== undefined ? { emailVerified: verified } : emailChanged && { emailVerified: false }),
  };
}

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
  /** the sign-ins to /authorize's pages, ended when a password changes too */
  browserSessions: BrowserSessionRepository;
};

/** Changes are audited under `actor` ("cli", "admin:<client_id>", …); sign-ins are not. */
export class UserService {
  readonly #repo: UserRepository;
  readonly #audit: AuditRepository;
  readonly #clock: Clock;
  readonly #sessions: RefreshTokenRepository;
  readonly #throttle: SignInThrottle;
  readonly #browserSessions: BrowserSessionRepository;

  constructor(options: UserServiceOptions) {
    this.#repo = options.repo;
    this.#audit = options.audit;
    this.#clock = options.clock;
    this.#sessions = options.sessions;
    this.#throttle = new SignInThrottle(options.clock);
    this.#browserSessions = options.browserSessions;
  }

  async create(username: string, password: string, actor = "system", profile: ProfileChanges = {}): Promise<UserView> {
    checkUsername(username);
    checkPassword(password);
    const fields = profileOf(profile);
    const user = await this.#repo.createIfUsernameFree({ id: randomUUID(), username, passwordHash: await hashPassword(password), ...fields });
    if (!user) throw new ValidationError(`username: ${username} is taken`);
    return this.#written(actor, "user.create", user);
  }

  /**
   * Sets the password and ends every session of the user (OWASP Session Management: renew sessions
   * after a password change): each refresh-token family is revoked and its live access tokens are
   * blocklisted, in one transaction after the new hash is stored, then every browser session ends
   * (whoever knew the old password must type the new one). Run again after a failure in between,
   * it ends what is left. Every caller (CLI, admin API) gets this through here.
   */
  async setPassword(username: string, password: string, actor = "system"): Promise<UserView> {
    checkPassword(password);
    const user = await this.#byUsername(username);
    const updated = (await this.#repo.update(user.id, { passwordHash: await hashPassword(password) })) ?? user;
    const ended = await this.#sessions.revokeUserFamilies(user.id, "password_change", new Date(this.#clock.now()));
    const browserSessionsEnded = await this.#browserSessions.endUserSessions(user.id, new Date(this.#clock.now()));
    return this.#written(actor, "user.set_password", updated, { sessionsEnded: ended.families, accessTokensRevoked: ended.accessTokensRevoked, browserSessionsEnded });
  }

  async setEnabled(username: string, enabled: boolean, actor = "system"): Promise<UserView> {
    const user = await this.#byUsername(username);
    return this.#written(actor, enabled ? "user.enable" : "user.disable", (await this.#repo.update(user.id, { enabled })) ?? user);
  }

  async list(): Promise<UserView[]> {
    return (await this.#repo.list()).map(viewOf);
  }

  /** Users ordered by username, `limit` (1 to MAX_PAGE) after the username `after`; `username` picks one. */
  async page(options: { username?: string; after?: string; limit: number }): Promise<UserView[]> {
    if (!Number.isInteger(options.limit) || options.limit < 1 || options.limit > MAX_PAGE) throw new TypeError(`limit must be an integer from 1 to ${MAX_PAGE}`);
    // Never a username (next_after always is one): refused before it reaches the database, which
    // may refuse its bytes (PostgreSQL and NUL).
    if (options.after !== undefined && !USERNAME.test(options.after)) throw new ValidationError("after: must be the next_after of the previous page");
    if (options.username !== undefined && !USERNAME.test(options.username)) return [];
    return (await this.#repo.page(options)).map(viewOf);
  }

  async show(id: string): Promise<UserView> {
    return viewOf(await this.#byId(id));
  }

  /** The user by id if it exists and is enabled, else null (/userinfo: a token outlives neither). */
  async findEnabled(id: string): Promise<UserView | null> {
    // Never a UUID (a client-credentials token's sub is a client_id): no query, and no bytes a database refuses.
    if (!UUID.test(id)) return null;
    const user = await this.#repo.findById(id);
    return user?.enabled ? viewOf(user) : null;
  }

  async byUsername(username: string): Promise<UserView> {
    return viewOf(await this.#byUsername(username));
  }

  /**
   * Renames, sets the profile (name, email, email_verified), enables or disables, and sets the
   * password, in that order, each audited as its own change; all fields are checked before anything
   * is written. A field equal to what is stored is no change. The password goes through setPassword,
   * so whatever a new password does to the user's sessions, it does here too.
   */
  async update(id: string, changes: UserChanges, actor = "system"): Promise<UserView> {
    if (changes.username !== undefined) checkUsername(changes.username);
    if (changes.password !== undefined) checkPassword(changes.password);
    const stored = await this.#byId(id);
    const profile = profileOf(changes, stored);
    let user = viewOf(stored);
    if (changes.username !== undefined && changes.username !== user.username) {
      const renamed = await this.#repo.rename(id, changes.username);
      if (renamed === false) throw new ValidationError(`username: ${changes.username} is taken`);
      if (renamed === null) throw new NotFoundError(`user ${id} not found`);
      await this.#record(actor, "user.rename", renamed, { previousUsername: user.username });
      user = viewOf(renamed);
    }
    const changed = (Object.keys(profile) as (keyof UserProfile)[]).filter((k) => profile[k] !== user[k]);
    if (changed.length > 0) {
      const updated = await this.#repo.update(id, profile);
      if (!updated) throw new NotFoundError(`user ${id} not found`);
      // Which fields changed, never their values: an audit log is no place for personal data.
      await this.#record(actor, "user.update_profile", updated, { changed });
      user = viewOf(updated);
    }
    if (changes.enabled !== undefined && changes.enabled !== user.enabled) user = await this.setEnabled(user.username, changes.enabled, actor);
    if (changes.password !== undefined) user = await this.setPassword(user.username, changes.password, actor);
    return user;
  }

  /** The user's sign-ins that can still refresh (family and newest token unexpired), oldest first. */
  async sessions(id: string): Promise<UserSession[]> {
    const user = await this.#byId(id);
    const now = this.#clock.now();
    return (await this.#sessions.unrevokedFamiliesOfUser(user.id))
      .map(sessionOf)
      .filter((s) => s.expiresAt.getTime() > now);
  }

  /**
   * Ends every sign-in of the user: each refresh family is revoked and the access tokens issued
   * from it that still live are blocklisted, in one transaction (revokeUserFamilies). Returns how many
   * families it revoked (those idle or expired but not yet pruned among them).
   */
  async endSessions(id: string, actor = "system"): Promise<number> {
    const user = await this.#byId(id);
    const ended = await this.#endFamilies(user.id, "sessions_ended");
    await this.#record(actor, "user.end_sessions", user, { sessionsEnded: ended });
    return ended;
  }

  /**
   * Ends every browser session of the user (their sign-ins to /authorize's pages): the next
   * /authorize in those browsers asks for the password. Tokens already issued are left alone
   * (endSessions ends those). Returns how many were still open.
   */
  async endBrowserSessions(id: string, actor = "system"): Promise<number> {
    const user = await this.#byId(id);
    const ended = await this.#browserSessions.endUserSessions(user.id, new Date(this.#clock.now()));
    await this.#record(actor, "user.end_browser_sessions", user, { browserSessionsEnded: ended });
    return ended;
  }

  /**
   * Deletes the user. First disabled (no new sign-in or refresh), then every family is ended as by
   * endSessions, so that access tokens already issued stop working too; the families and tokens
   * themselves go with the user's row. Returns what the user was.
   */
  async delete(id: string, actor = "system"): Promise<UserView> {
    const user = await this.#byId(id);
    await this.#repo.update(user.id, { enabled: false });
    const ended = await this.#endFamilies(user.id, "user_deleted");
    if (!(await this.#repo.delete(user.id))) throw new NotFoundError(`user ${id} not found`);
    await this.#record(actor, "user.delete", user, { sessionsEnded: ended });
    return viewOf(user);
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

  /**
   * Revokes every family of the user not revoked yet, expired ones too (an access token issued from
   * one may outlive it), and returns how many it revoked.
   */
  async #endFamilies(userId: string, reason: string): Promise<number> {
    return (await this.#sessions.revokeUserFamilies(userId, reason, new Date(this.#clock.now()))).families;
  }

  async #record(actor: string, action: string, user: UserRecord, details: Record<string, unknown> = {}): Promise<void> {
    await this.#audit.record({ at: new Date(this.#clock.now()), actor, action, target: `user:${user.id}`, details: { username: user.username, ...details } });
  }

  async #byId(id: string): Promise<UserRecord> {
    const user = await this.#repo.findById(id);
    if (!user) throw new NotFoundError(`user ${id} not found`);
    return user;
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

const sessionOf = (f: FamilySummary): UserSession => ({
  id: f.id,
  clientId: f.clientId,
  clientName: f.clientName,
  createdAt: f.createdAt,
  lastUsedAt: f.lastUsedAt,
  // whichever comes first: the family's absolute lifetime, or its newest token's idle expiry
  expiresAt: f.newestTokenExpiresAt < f.expiresAt ? f.newestTokenExpiresAt : f.expiresAt,
});
