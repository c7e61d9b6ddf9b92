// The key-encryption key (KEK) and AES-256-GCM sealing of private signing keys at rest.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { ConfigError, KeyDecryptionError } from "../errors/internal.js";

const KEK_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT = "v1"; // prefix of sealed values, so the format can change later

/**
 * The KEK from TESSERA_KEK (already validated) or from kekFile, which is created with mode 0600 on
 * first use. A file that exists but is not 32 bytes of base64 stops the start-up: making a new KEK
 * would orphan every sealed key.
 */
export function loadKek(kekFromEnv: string | undefined, kekFile: string, onCreated?: (file: string) => void): Buffer {
  if (kekFromEnv) return Buffer.from(kekFromEnv, "base64");
  let encoded: string;
  try {
    encoded = fs.readFileSync(kekFile, "utf8").trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    fs.mkdirSync(path.dirname(path.resolve(kekFile)), { recursive: true });
    const fresh = randomBytes(KEK_BYTES).toString("base64");
    // "wx": never overwrite a KEK another process wrote a moment ago; read theirs instead.
    try {
      fs.writeFileSync(kekFile, `${fresh}\n`, { mode: 0o600, flag: "wx" });
      onCreated?.(path.resolve(kekFile));
      return Buffer.from(fresh, "base64");
      // Coverage: another process creating the file between this one's read and its write is a
      // race no test can order (two processes starting at once reach it, or not).
      /* c8 ignore start */
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code !== "EEXIST") throw e2;
      encoded = fs.readFileSync(kekFile, "utf8").trim();
    }
    /* c8 ignore stop */
  }
  const kek = Buffer.from(encoded, "base64");
  if (kek.length !== KEK_BYTES) throw new ConfigError(`TESSERA_KEK_FILE: ${kekFile} does not hold base64 of 32 bytes`);
  return kek;
}

/** AES-256-GCM; `label` (the kid) is bound as associated data so sealed values cannot be swapped. */
export function seal(kek: Buffer, plaintext: string, label: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", kek, iv).setAAD(Buffer.from(label));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return `${FORMAT}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url")}`;
}

export function open(kek: Buffer, sealed: string, label: string): string {
  const [format, data] = sealed.split(".");
  if (format !== FORMAT || !data) throw new KeyDecryptionError(`sealed key ${label} has an unknown format`);
  const raw = Buffer.from(data, "base64url");
  try {
    const decipher = createDecipheriv("aes-256-gcm", kek, raw.subarray(0, IV_BYTES)).setAAD(Buffer.from(label));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
  } catch (e) {
    throw new KeyDecryptionError(
      `the key-encryption key (TESSERA_KEK or TESSERA_KEK_FILE) does not open signing key ${label}: ` +
        "it is not the key this database was set up with. Refusing to start rather than make a new signing key.",
      { cause: e },
    );
  }
}

/** A key for one purpose derived from the KEK (HKDF-SHA256), shared by every instance that has the KEK. */
export const deriveKey = (kek: Buffer, purpose: string): Buffer => Buffer.from(hkdfSync("sha256", kek, "", `tessera ${purpose}`, 32));
