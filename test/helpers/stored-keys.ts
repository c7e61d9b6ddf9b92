// Reads the signing-key table straight from a database, as an operator would see it.
import { openDb } from "../../src/storage/prisma.js";
import { SigningKeyRepository, type SigningKeyRecord } from "../../src/storage/signing-keys.js";

export async function storedSigningKeys(databaseUrl: string): Promise<SigningKeyRecord[]> {
  const db = await openDb(databaseUrl);
  try {
    return await new SigningKeyRepository(db).listAll();
  } finally {
    await db.$disconnect();
  }
}
