// Everything a running tessera holds: the database, clients and keys in memory, and their pollers.
// Built by buildApp (and by `tessera serve`); closed in the app's onClose. No module-level state.
import type { Config } from "../config/schema.js";
import { deriveKey, loadKek } from "../crypto/kek.js";
import { AuditRepository } from "../storage/audit.js";
import { ClientRepository } from "../storage/clients.js";
import { applyMigrations } from "../storage/migrate.js";
import { openDb, type Db } from "../storage/prisma.js";
import { RefreshTokenRepository } from "../storage/refresh-tokens.js";
import { RevokedAccessTokenRepository } from "../storage/revoked-access-tokens.js";
import { SigningKeyRepository } from "../storage/signing-keys.js";
import { UsedClientAssertionRepository } from "../storage/used-client-assertions.js";
import { UserRepository } from "../storage/users.js";
import { ClientRegistry } from "./clients/client-registry.js";
import { ClientService } from "./clients/client-service.js";
import type { Clock } from "./clock.js";
import { KeyManager } from "./keys/key-manager.js";
import { KeyRing } from "./keys/key-ring.js";
import type { Logger } from "./logger.js";
import { NO_METRICS, type Metrics } from "./metrics.js";
import { pruneExpired } from "./maintenance.js";
import { poll } from "./poller.js";
import { RefreshTokenService } from "./tokens/refresh-token-service.js";
import { UserService } from "./users/user-service.js";

export type Services = {
  config: Config;
  clock: Clock;
  metrics: Metrics;
  /** the app's logger, for what is not one request's answer (pollers, failures, start and stop) */
  log: Logger;
  db: Db;
  clients: ClientRegistry;
  clientAdmin: ClientService;
  keys: KeyRing;
  keyAdmin: KeyManager;
  users: UserService;
  refreshTokens: RefreshTokenService;
  audit: AuditRepository;
  blocklist: RevokedAccessTokenRepository;
  assertions: UsedClientAssertionRepository;
  /** true when the database answers and a key can sign: what /readyz reports */
  ready(): Promise<boolean>;
  close(): Promise<void>;
};

export async function createServices(config: Config, clock: Clock, log: Logger, metrics: Metrics = NO_METRICS): Promise<Services> {
  const kek = loadKek(config.kek, config.kekFile); // first: a bad KEK file stops us before any write
  await applyMigrations(config.databaseUrl);
  // LOG_LEVEL=trace logs every query's SQL text and duration (never its parameters, which hold digests).
  const traceQuery = (sql: string, durationMs: number) => log.trace({ sql, durationMs }, "database query");
  const db = await openDb(config.databaseUrl, config.logLevel === "trace" ? traceQuery : undefined);
  try {
    const clients = new ClientRegistry(new ClientRepository(db));
    await clients.refresh();
    const audit = new AuditRepository(db);
    const keyRepo = new SigningKeyRepository(db);
    // Retired keys stay published while a token they signed may still be alive, plus clock skew.
    const lingerSeconds = () => Math.max(config.accessTokenTtlSeconds, clients.maxTokenTtlSeconds()) + config.clockSkewSeconds;
    const keys = new KeyRing({ repo: keyRepo, kek, alg: config.signingAlg, clock, lingerSeconds });
    const keyAdmin = new KeyManager({
      repo: keyRepo,
      audit,
      kek,
      clock,
      alg: config.signingAlg,
      activationDelaySeconds: config.keyActivationDelaySeconds,
      rotationIntervalSeconds: config.keyRotationIntervalSeconds,
      lingerSeconds,
      metrics,
    });
    await keys.refresh(true); // first: a wrong KEK stops here, before any key is written
    await keyAdmin.ensureActiveKey("tessera");
    await keys.refresh(true);
    const blocklist = new RevokedAccessTokenRepository(db);
    const refreshTokenRepo = new RefreshTokenRepository(db);
    const refreshTokens = new RefreshTokenService({
      config,
      clock,
      keys,
      metrics,
      audit,
      blocklist,
      log,
      repo: refreshTokenRepo,
      digestKey: deriveKey(kek, "refresh token digest"),
    });
    const users = new UserService({ repo: new UserRepository(db), audit, clock, families: refreshTokenRepo, refreshTokens });
    // Started last: nothing below can fail and leave them polling a closed database.
    const intervalMs = config.cacheRefreshSeconds * 1000;
    const pollers = [
      poll(intervalMs, () => clients.refresh(), log, "client reload"),
      poll(intervalMs, async () => {
        if (await keyAdmin.rotateIfDue("tessera")) log.info({}, "rotated the signing key (KEY_ROTATION_INTERVAL)");
        await keys.refresh();
      }, log, "signing key reload"),
      poll(config.pruneIntervalSeconds * 1000, () => pruneExpired(db, clock), log, "pruning expired tokens"),
    ];
    return {
      config,
      clock,
      metrics,
      log,
      db,
      clients,
      clientAdmin: new ClientService({ repo: new ClientRepository(db), audit, clock, changed: () => clients.refresh() }),
      keys,
      keyAdmin,
      users,
      refreshTokens,
      audit,
      blocklist,
      assertions: new UsedClientAssertionRepository(db),
      async ready() {
        if (!keys.signer) return false;
        try {
          await db.$queryRawUnsafe("SELECT 1");
          return true;
        } catch {
          return false;
        }
      },
      async close() {
        for (const p of pollers) p.stop();
        await db.$disconnect();
      },
    };
  } catch (e) {
    await db.$disconnect();
    throw e;
  }
}
