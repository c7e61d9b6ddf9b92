// Users who sign in to first-party clients.
import { isUniqueViolation, type Db } from "./prisma.js";

export type UserRecord = {
  id: string;
  username: string;
  passwordHash: string;
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
  /** OpenID Connect profile claims (/userinfo): optional, emailVerified false unless an admin set it */
  name: string | null;
  email: string | null;
  emailVerified: boolean;
};

/** The profile fields, as written: null clears one. */
export type UserProfile = Partial<Pick<UserRecord, "name" | "email" | "emailVerified">>;

export class UserRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** null when the username is taken. */
  async createIfUsernameFree(user: Pick<UserRecord, "id" | "username" | "passwordHash"> & UserProfile): Promise<UserRecord | null> {
    try {
      return await this.#db.user.create({ data: user });
    } catch (e) {
      if (isUniqueViolation(e)) return null;
      throw e;
    }
  }

  findByUsername(username: string): Promise<UserRecord | null> {
    return this.#db.user.findUnique({ where: { username } });
  }

  findById(id: string): Promise<UserRecord | null> {
    return this.#db.user.findUnique({ where: { id } });
  }

  list(): Promise<UserRecord[]> {
    return this.#db.user.findMany({ orderBy: { createdAt: "asc" } });
  }

  /** One page of users ordered by username, after the username `after`; `username` picks one exactly. */
  page(options: { username?: string; after?: string; limit: number }): Promise<UserRecord[]> {
    const { username, after, limit } = options;
    return this.#db.user.findMany({
      where: { username: { ...(username !== undefined && { equals: username }), ...(after !== undefined && { gt: after }) } },
      orderBy: { username: "asc" },
      take: limit,
    });
  }

  /** null when there is no such user, false when another user has the username. */
  async rename(id: string, username: string): Promise<UserRecord | null | false> {
    try {
      return await this.update(id, { username });
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    }
  }

  /** false when there is no such user. Its refresh families and tokens go with it (foreign-key cascade). */
  async delete(id: string): Promise<boolean> {
    const { count } = await this.#db.user.deleteMany({ where: { id } });
    return count === 1;
  }

  /** null when there is no such user. */
  async update(id: string, changes: Partial<Pick<UserRecord, "passwordHash" | "enabled" | "username">> & UserProfile): Promise<UserRecord | null> {
    const { count } = await this.#db.user.updateMany({ where: { id }, data: changes });
    return count === 1 ? this.findById(id) : null;
  }
}
