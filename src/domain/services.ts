// Everything a running tessera holds: the database, clients and keys in memory, and their pollers.
// Built by buildApp (and by `tessera serve`); closed in the app's onClose. No module-level state.
import { randomUUID } from "node:crypto";
import type { Config } from "../config/schema.js";
import { deriveKey, loadKek } from "../crypto/kek.js";
import { AuditRepository } from "../storage/audit.js";
import { AuthorizationCodeRepository } from "../storage/authorization-codes.js";
import { BrowserSessionRepository } from "../storage/browser-sessions.js";
import { ClientRepository } from "../storage/clients.js";
import { databaseLocation } from "../storage/database-location.js";
import { GrantRepository } from "../storage/grants.js";
import { PushedAuthorizationRequestRepository } from "../storage/pushed-authorization-requests.js";
import { applyMigrations } from "../storage/migrate.js";
import { databaseAnswers, openDb, SQLITE_SERVER_BUSY_TIMEOUT_MS, type Db } from "../storage/prisma.js";
import { RefreshTokenRepository } from "../storage/refresh-tokens.js";
import { RevokedAccessTokenRepository } from "../storage/revoked-access-tokens.js";
import { SigningKeyRepository } from "../storage/signing-keys.js";
import { StatusListRepository } from "../storage/status-lists.js";
import { UsedClientAssertionRepository } from "../storage/used-client-assertions.js";
import { usedDpopProofsFor } from "../storage/used-dpop-proofs.js";
import { UserRepository } from "../storage/users.js";
import { BrowserSessionService } from "./authorization/browser-session.js";
import { ConsentService } from "./authorization/consent.js";
import { InteractionSealer } from "./authorization/interaction.js";
import { LogoutConfirmationSealer } from "./authorization/logout-confirmation.js";
import { LogoutService } from "./authorization/logout.js";
import { PushedRequestService } from "./authorization/pushed-request.js";
import { ClientRegistry } from "./clients/client-registry.js";
import { ClientService } from "./clients/client-service.js";
import type { Clock } from "./clock.js";
import { KeyManager } from "./keys/key-manager.js";
import { KeyRing } from "./keys/key-ring.js";
import type { Logger } from "./logger.js";
import { NO_METRICS, type Metrics } from "./metrics.js";
import { pruneExpired } from "./maintenance.js";
import { poll } from "./poller.js";
import { DpopProofChecker } from "./tokens/dpop-proofs.js";
import { RefreshTokenService } from "./tokens/refresh-token-service.js";
import { StatusIndexAllocator } from "./tokens/status-index-allocator.js";
import { StatusListRegistry } from "./tokens/status-list-registry.js";
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
  /** remembered consent (grants): find, record, list and revoke */
  grants: ConsentService;
  /** authorization codes: issued by /authorize (authorization/code.ts), exchanged at /token */
  authorizationCodes: AuthorizationCodeRepository;
  /** who is signed in to tessera in a browser (the tessera_session cookie of /authorize's pages) */
  browserSessions: BrowserSessionService;
  /** seals /authorize's request into its forms and makes their CSRF tokens */
  interactions: InteractionSealer;
  /** pushed authorization requests (RFC 9126): stored by POST /par, used once by /authorize */
  pushedRequests: PushedRequestService;
  /** RP-initiated logout (/end-session): ends a browser session and what was issued in it */
  logout: LogoutService;
  /** seals /end-session's confirmation form and makes its CSRF token */
  logoutConfirmations: LogoutConfirmationSealer;
  audit: AuditRepository;
  blocklist: RevokedAccessTokenRepository;
  assertions: UsedClientAssertionRepository;
  /** DPoP proofs (RFC 9449): checked once each, on any instance, and the server nonce (DPOP_NONCE) */
  dpop: DpopProofChecker;
  /** Token Status List entries for new access tokens, and the lists served; null when STATUS_LIST=off */
  statusIndexes: StatusIndexAllocator | null;
  statusLists: StatusListRegistry | null;
  /** true when the database answers and a key can sign: what /readyz reports */
  ready(): Promise<boolean>;
  close(): Promise<void>;
};

export async function createServices(config: Config, clock: Clock, log: Logger, metrics: Metrics = NO_METRICS): Promise<Services> {
  // First: a bad KEK file stops us before any write. What a first start creates is logged (never a secret).
  const kek = loadKek(config.kek, config.kekFile, (file) => log.info({ file }, `created the key-encryption key file ${file} (mode 0600): back it up, the signing keys cannot be opened without it`));
  const applied = await applyMigrations(config.databaseUrl);
  if (applied.length) log.info({ database: databaseLocation(config.databaseUrl), migrations: applied }, `applied ${applied.length} migration(s) to ${databaseLocation(config.databaseUrl)}`);
  // LOG_LEVEL=trace logs every query's SQL text and duration (never its parameters, which hold digests).
  const traceQuery = (sql: string, durationMs: number) => log.trace({ sql, durationMs }, "database query");
  const db = await openDb(config.databaseUrl, config.logLevel === "trace" ? traceQuery : undefined, SQLITE_SERVER_BUSY_TIMEOUT_MS);
  try {
    const clients = new ClientRegistry(new ClientRepository(db));
    await clients.refresh();
    const audit = new AuditRepository(db);
    const keyRepo = new SigningKeyRepository(db);
    // The longest lifetime a token gets now. Retired keys stay published by what each key stored
    // when it signed (key-ring.ts), not by this, which can be lowered while tokens live.
    const tokenLifetimeSeconds = () => Math.max(config.accessTokenTtlSeconds, clients.maxTokenTtlSeconds());
    const keys = new KeyRing({ repo: keyRepo, kek, clock, clockSkewSeconds: config.clockSkewSeconds, tokenLifetimeSeconds });
    const keyAdmin = new KeyManager({
      repo: keyRepo,
      audit,
      kek,
      clock,
      alg: config.signingAlg,
      activationDelaySeconds: config.keyActivationDelaySeconds,
      rotationIntervalSeconds: config.keyRotationIntervalSeconds,
      clockSkewSeconds: config.clockSkewSeconds,
      legacyLingerSeconds: tokenLifetimeSeconds,
      metrics,
    });
    await keys.refresh(true); // first: a wrong KEK stops here, before any key is written
    const signerBefore = keys.signer?.kid;
    const made = await keyAdmin.ensureActiveKey("tessera");
    if (made?.state === "pending") log.info({ kid: made.kid, alg: made.alg, activatesAt: made.activatesAt }, "SIGNING_ALG changed: a key of the new alg signs from activatesAt");
    await keys.refresh(true);
    const signer = keys.signer;
    if (signer && signer.kid !== signerBefore) log.info({ kid: signer.kid, alg: signer.alg }, `created signing key ${signer.kid} (${signer.alg})`);
    // Token Status List: an entry may be given again this long after the block's tokens expired
    // (status-index-allocator.ts: skew, then every instance's copy and every cached list forgot it).
    const statusRepo = new StatusListRepository(db);
    const reuseDelaySeconds = config.clockSkewSeconds + config.cacheRefreshSeconds + config.statusListTtlSeconds;
    const statusIndexes = config.statusList ? new StatusIndexAllocator({ repo: statusRepo, clock, instanceId: randomUUID(), reuseDelaySeconds }) : null;
    const statusLists = statusIndexes ? new StatusListRegistry({ config, clock, keys, repo: statusRepo, allocator: statusIndexes }) : null;
    if (statusIndexes && statusLists) {
      await statusIndexes.load();
      await statusLists.reload();
    }
        const browserSessionRepo = new BrowserSessionRepository(db);
    const browserSessions = new BrowserSessionService({ repo: browserSessionRepo, clock, ttlSeconds: config.sessionTtlSeconds, idleTtlSeconds: config.sessionIdleTtlSeconds });
    const users = new UserService({ repo: new UserRepository(db), audit, clock, sessions: new RefreshTokenRepository(db), browserSessions: browserSessionRepo });
    const blocklist = new RevokedAccessTokenRepository(db);
    const authorizationCodes = new AuthorizationCodeRepository(db);
    const grants = new ConsentService({ grants: new GrantRepository(db), codes: authorizationCodes, refreshTokens: new RefreshTokenRepository(db), audit, clock });
    const refreshTokens = new RefreshTokenService({
      config,
      clock,
      keys,
      metrics,
      audit,
      blocklist,
      log,
      statusIndexes,
      statusLists,
      repo: new RefreshTokenRepository(db),
      digestKey: deriveKey(kek, "refresh token digest"),
    });
    // Started last: nothing below can fail and leave them polling a closed database.
    const intervalMs = config.cacheRefreshSeconds * 1000;
    const pollers = [
      poll(intervalMs, () => clients.refresh(), log, "client reload"),
      poll(intervalMs, async () => {
        if (await keyAdmin.rotateIfDue("tessera")) log.info({}, "rotated the signing key (KEY_ROTATION_INTERVAL)");
        await keys.refresh();
      }, log, "signing key reload"),
      ...(statusLists ? [poll(intervalMs, () => statusLists.refresh(), log, "status list reload")] : []),
      poll(config.pruneIntervalSeconds * 1000, () => pruneExpired(db, clock), log, "pruning expired tokens"),
    ];
    return {
      config,
      clock,
      metrics,
      log,
      db,
      clients,
      clientAdmin: new ClientService({
        repo: new ClientRepository(db),
        statusBlocks: statusRepo,
        audit,
        clock,
        // A disabled or deleted client's blocks were invalidated: this instance stops using them at once.
        changed: async () => {
          await clients.refresh();
          await statusLists?.reload();
        },
      }),
      keys,
      keyAdmin,
      users,
      refreshTokens,
      grants,
      authorizationCodes,
      browserSessions,
      interactions: new InteractionSealer(deriveKey(kek, "authorization interaction"), clock),
      pushedRequests: new PushedRequestService({ repo: new PushedAuthorizationRequestRepository(db), clock, ttlSeconds: config.parTtlSeconds, requiredForAll: config.requirePar }),
      logout: new LogoutService({ clock, sessions: browserSessionRepo, refreshTokens: new RefreshTokenRepository(db), codes: authorizationCodes, audit, statusLists }),
      logoutConfirmations: new LogoutConfirmationSealer(deriveKey(kek, "logout confirmation"), clock),
      audit,
      blocklist,
      assertions: new UsedClientAssertionRepository(db),
      dpop: new DpopProofChecker({
        clock,
        used: usedDpopProofsFor(db, () => clock.now()),
        nonceRequired: config.dpopNonce,
        nonceKey: deriveKey(kek, "dpop nonce"),
        skewSeconds: config.clockSkewSeconds,
      }),
      statusIndexes,
      statusLists,
      async ready() {
        return keys.signer !== null && (await databaseAnswers(db));
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
