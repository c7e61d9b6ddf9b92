import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import t from "tap";
import { loadKek, open, seal } from "../../src/crypto/kek.js";
import { ConfigError, KeyDecryptionError } from "../../src/errors/internal.js";
import { buildTestApp } from "../helpers/app.js";
import { freshDatabaseUrl } from "../helpers/database.js";

function tempDir(t: { teardown(fn: () => unknown): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tessera-kek-"));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const modeOf = (file: string) => fs.statSync(file).mode & 0o777;

t.test("loadKek", async (t) => {
  t.test("without TESSERA_KEK, creates the file (and its folder) with mode 0600", async (t) => {
    const file = path.join(tempDir(t), "keys", "kek");
    const kek = loadKek(undefined, file);
    t.equal(kek.length, 32);
    t.equal(modeOf(file), 0o600);
    t.equal(Buffer.from(fs.readFileSync(file, "utf8").trim(), "base64").toString("hex"), kek.toString("hex"));
  });

  t.test("reuses an existing file instead of making a new key", async (t) => {
    const file = path.join(tempDir(t), "kek");
    const first = loadKek(undefined, file);
    const content = fs.readFileSync(file, "utf8");
    const second = loadKek(undefined, file);
    t.equal(second.toString("hex"), first.toString("hex"));
    t.equal(fs.readFileSync(file, "utf8"), content, "the file is not rewritten");
  });

  t.test("TESSERA_KEK wins and no file is created", async (t) => {
    const file = path.join(tempDir(t), "kek");
    const fromEnv = randomBytes(32);
    t.equal(loadKek(fromEnv.toString("base64"), file).toString("hex"), fromEnv.toString("hex"));
    t.notOk(fs.existsSync(file));
  });

  t.test("a file that is not base64 of 32 bytes stops the start with ConfigError naming TESSERA_KEK_FILE", async (t) => {
    const file = path.join(tempDir(t), "kek");
    fs.writeFileSync(file, `${randomBytes(16).toString("base64")}\n`, { mode: 0o600 });
    t.throws(() => loadKek(undefined, file), ConfigError);
    t.throws(() => loadKek(undefined, file), { message: /TESSERA_KEK_FILE/ });
    t.equal(fs.readFileSync(file, "utf8").trim().length, 24, "the bad file is left for the operator, not replaced");
  });
});

t.test("seal and open (AES-256-GCM, kid bound as associated data)", async (t) => {
  const kek = randomBytes(32);
  const plaintext = "-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----\n";

  t.test("round trip", async (t) => {
    const sealed = seal(kek, plaintext, "kid-1");
    t.notMatch(sealed, /PRIVATE KEY/);
    t.match(sealed, /^v1\.[A-Za-z0-9_-]+$/);
    t.equal(open(kek, sealed, "kid-1"), plaintext);
  });

  t.test("every seal uses a fresh IV", async (t) => {
    t.not(seal(kek, plaintext, "kid-1"), seal(kek, plaintext, "kid-1"));
  });

  t.test("opening under another label (kid) fails", async (t) => {
    const sealed = seal(kek, plaintext, "kid-1");
    t.throws(() => open(kek, sealed, "kid-2"), KeyDecryptionError);
  });

  t.test("opening with another KEK fails with a message about the key-encryption key", async (t) => {
    const sealed = seal(kek, plaintext, "kid-1");
    t.throws(() => open(randomBytes(32), sealed, "kid-1"), KeyDecryptionError);
    t.throws(() => open(randomBytes(32), sealed, "kid-1"), { message: /key-encryption key/ });
  });

  t.test("a tampered ciphertext fails", async (t) => {
    const sealed = seal(kek, plaintext, "kid-1");
    const raw = Buffer.from(sealed.slice(3), "base64url");
    raw.writeUInt8(raw.readUInt8(raw.length - 1) ^ 1, raw.length - 1);
    t.throws(() => open(kek, `v1.${raw.toString("base64url")}`, "kid-1"), KeyDecryptionError);
  });

  t.test("an unknown format fails", async (t) => {
    const sealed = seal(kek, plaintext, "kid-1");
    t.throws(() => open(kek, sealed.replace(/^v1\./, "v9."), "kid-1"), KeyDecryptionError);
    t.throws(() => open(kek, "v1", "kid-1"), KeyDecryptionError);
  });
});

t.test("an app started without TESSERA_KEK creates keys/kek 0600 and reuses it on the next start", async (t) => {
  const file = path.join(tempDir(t), "keys", "kek");
  const env = { TESSERA_KEK: "", TESSERA_KEK_FILE: file, DATABASE_URL: await freshDatabaseUrl(t) };

  const first = await buildTestApp(t, env);
  t.equal(first.config.kek, undefined, "an empty TESSERA_KEK counts as unset");
  t.ok(fs.existsSync(file), "the KEK file was created");
  t.equal(modeOf(file), 0o600);
  const content = fs.readFileSync(file, "utf8");
  const kid = first.app.services.keys.signer?.kid;
  t.type(kid, "string");
  await first.app.close();

  const second = await buildTestApp(t, env);
  t.equal(fs.readFileSync(file, "utf8"), content, "the same KEK file, unchanged");
  t.equal(second.app.services.keys.signer?.kid, kid, "the key sealed under it still opens");
});

t.test("a KEK path that cannot be read is reported as it is, not answered with a new KEK", async (t) => {
  const notADirectory = path.join(tempDir(t), "file");
  fs.writeFileSync(notADirectory, "");
  t.throws(() => loadKek(undefined, path.join(notADirectory, "kek")), { code: "ENOTDIR", syscall: "open" });
  t.equal(fs.readFileSync(notADirectory, "utf8"), "", "nothing written");
});
