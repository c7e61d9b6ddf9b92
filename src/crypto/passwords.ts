// User passwords: argon2id, the one place a slow hash belongs (people choose passwords).
// argon2 (a native addon, ~4 MiB resident) is loaded on first use: a server that only issues
// client-credentials tokens never needs it.
const argon2 = async () => (await import("argon2")).default;

// OWASP's argon2id floor (19 MiB, 2 passes, 1 lane): ~20-40 ms here, a login-sized cost.
const OPTIONS = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export async function hashPassword(password: string): Promise<string> {
  const { hash, argon2id } = await argon2();
  return hash(password, { ...OPTIONS, type: argon2id });
}

/** false for a wrong password and for a malformed stored hash alike. */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await (await argon2()).verify(hash, password);
  } catch {
    return false;
  }
}

// Verified against when the user does not exist, so that case costs what a wrong password costs.
let dummyHash: Promise<string> | undefined;
export const dummyPasswordHash = (): Promise<string> => (dummyHash ??= hashPassword("no such user"));
