// User passwords: argon2id, the one place a slow hash belongs (people choose passwords).
import argon2 from "argon2";

// OWASP's argon2id floor (19 MiB, 2 passes, 1 lane): ~20-40 ms here, a login-sized cost.
const OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string): Promise<string> => argon2.hash(password, OPTIONS);

/** false for a wrong password and for a malformed stored hash alike. */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

// Verified against when the user does not exist, so that case costs what a wrong password costs.
let dummyHash: Promise<string> | undefined;
export const dummyPasswordHash = (): Promise<string> => (dummyHash ??= hashPassword("no such user"));
