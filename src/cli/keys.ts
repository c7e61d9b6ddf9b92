// tessera keys list|rotate [--now] [--alg ALG]|retire KID|prune
import { parseArgs } from "node:util";
import { SIGNING_ALGS, type Config, type SigningAlg } from "../config/schema.js";
import { loadKek } from "../crypto/kek.js";
import { systemClock } from "../domain/clock.js";
import { KeyManager } from "../domain/keys/key-manager.js";
import { ValidationError } from "../errors/internal.js";
import { AuditRepository } from "../storage/audit.js";
import { ClientRepository } from "../storage/clients.js";
import { SigningKeyRepository } from "../storage/signing-keys.js";
import { withDb } from "./db.js";
import { printer } from "./output.js";

export const KEYS_USAGE = `tessera keys list
tessera keys rotate [--now] [--alg ${SIGNING_ALGS.join("|")}]
tessera keys retire KID
tessera keys prune`;

const ACTOR = "cli";

export async function keysCommand(config: Config, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { json: { type: "boolean" }, now: { type: "boolean" }, alg: { type: "string" } },
    allowPositionals: true,
    strict: true,
  });
  const [action, kid] = positionals;
  const alg = values.alg;
  if (alg !== undefined && (action !== "rotate" || !(SIGNING_ALGS as readonly string[]).includes(alg))) {
    throw new ValidationError(action === "rotate" ? `--alg: one of ${SIGNING_ALGS.join(", ")}` : "--alg: only with keys rotate");
  }
  const print = printer(values.json ?? false);
  await withDb(config, async (db) => {
    const clients = new ClientRepository(db);
    const keys = new KeyManager({
      repo: new SigningKeyRepository(db),
      audit: new AuditRepository(db),
      // Only rotate seals a new key; the others must not create keys/kek as a side effect.
      get kek() {
        return loadKek(config.kek, config.kekFile);
      },
      clock: systemClock,
      // New keys keep the alg the database is using (the newest key not retired), not this
      // environment's SIGNING_ALG: a rotation run from another shell must not switch algorithms.
      // `keys rotate --alg` switches on purpose (pending first, like any rotation).
      alg: config.signingAlg,
      followStoredAlg: true,
      activationDelaySeconds: config.keyActivationDelaySeconds,
      rotationIntervalSeconds: config.keyRotationIntervalSeconds,
      clockSkewSeconds: config.clockSkewSeconds,
      // Only for keys stored before migration 0007; the others carry their tokens' latest expiry.
      legacyLingerSeconds: async () => Math.max(config.accessTokenTtlSeconds, await clients.maxTokenTtlSeconds()),
    });
    switch (action) {
      case "list":
        // Public facts only: the sealed private key never leaves the database through the CLI.
        return print(await keys.summaries());
      case "rotate":
        return print(await keys.rotate(ACTOR, values.now ?? false, alg as SigningAlg | undefined));
      case "retire":
        if (!kid) throw new ValidationError("missing KID");
        return print(await keys.retire(kid, ACTOR));
      case "prune": {
        const removed = await keys.prune(ACTOR);
        // Said in words when there is nothing to do; --json keeps its shape.
        return print(values.json || removed.length ? { removed } : "nothing to prune: no retired key is past its publication period");
      }
      default:
        throw new ValidationError(`unknown keys command ${JSON.stringify(action ?? "")}\n${KEYS_USAGE}`);
    }
  });
}
