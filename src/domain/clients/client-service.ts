// Registering and managing clients (used by the CLI, later by the admin API).
// tessera generates every client_id and secret; a secret is shown once and only its digest is kept.
import { randomToken, sha256 } from "../../crypto/secrets.js";
import { NotFoundError, ValidationError } from "../../errors/internal.js";
import type { AuditRepository } from "../../storage/audit.js";
import type { ClientChanges, ClientRecord, ClientRepository, JsonWebKeySet } from "../../storage/clients.js";
import type { StatusListRepository } from "../../storage/status-lists.js";
import type { Clock } from "../clock.js";
import { GRANT_TYPES, PUBLIC_CLIENT_GRANTS } from "../grants/index.js";
import { isScopeToken } from "../scope.js";
import { validateRedirectUri } from "./redirect-uris.js";

/**
 * 128 random bits, base64url. Never starting with "-": the CLI (and most others) would read such an
 * id as an option (`tessera clients show -o6J…`); one id in 64 would.
 */
export function newClientId(): string {
  for (;;) {
    const id = randomToken(16);
    if (!id.startsWith("-")) return id;
  }
}

export type ClientInput = {
  name: string;
  grantTypes: string[];
  scopes: string[];
  audiences: string[];
  tokenTtlSeconds?: number | null;
  firstParty?: boolean;
  canIntrospect?: boolean;
  /** public keys for private_key_jwt; a client registered with keys gets no secret */
  jwks?: JsonWebKeySet | null;
  /** where the authorization code flow may send the user back (redirect-uris.ts) */
  redirectUris?: string[];
  /** where RP-initiated logout (/end-session) may send the browser afterwards; validated as redirect URIs */
  postLogoutRedirectUris?: string[];
  /** no secret: authenticates with client_id only (authorization_code and refresh_token only) */
  public?: boolean;
  /** RFC 9449 §5.2: token requests without a DPoP proof are refused */
  dpopBoundAccessTokens?: boolean;
  /** RFC 9126 §6: /authorize takes only pushed requests (request_uri from /par) */
  requirePushedAuthorizationRequests?: boolean;
};

export type ClientUpdate = Partial<ClientInput> & { enabled?: boolean };

/** What a client looks like outside: everything but the secret digests. */
export type ClientView = Omit<ClientRecord, "secretDigest" | "previousSecretDigest">;

export const MAX_TOKEN_TTL_SECONDS = 24 * 3600; // an access token is a bearer credential: keep it short

export const viewOf = ({ secretDigest: _s, previousSecretDigest: _p, ...view }: ClientRecord): ClientView => view;

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"];

/** A JWK Set of asymmetric public keys, as private_key_jwt needs (RFC 7523 §2.2: no shared keys). */
function checkJwks(jwks: JsonWebKeySet): void {
  const keys = (jwks as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > 10) throw new ValidationError("jwks: must be {\"keys\": [...]} with 1 to 10 keys");
  for (const key of keys as Record<string, unknown>[]) {
    if (typeof key !== "object" || key === null || !["RSA", "EC", "OKP"].includes(key.kty as string)) {
      throw new ValidationError("jwks: every key must be an RSA, EC or OKP public key");
    }
    if (PRIVATE_MEMBERS.some((m) => m in key)) throw new ValidationError("jwks: keys must be public: private members found");
  }
}

// C0 controls, DEL and whitespace: the URL parser strips some of them ("https://x\u0000" parses),
// and PostgreSQL refuses U+0000 in text, so such a value would fail at the insert with a 500.
const CONTROL_OR_SPACE = /[\u0000-\u0020\u007f\s]/;

function isAudience(value: string): boolean {
  try {
    return new URL(value).hash === "" && !value.includes("#") && !CONTROL_OR_SPACE.test(value);
  } catch {
    return false;
  }
}

/** What a change is checked against: the client as it will be. */
type Merged = { grantTypes: string[]; firstParty: boolean; public: boolean; redirectUris: string[]; jwks: JsonWebKeySet | null };

export const MAX_REDIRECT_URIS = 20;

function validateCodeFlow(input: ClientUpdate, merged: Merged): void {
  if (input.redirectUris !== undefined) {
    if (input.redirectUris.length > MAX_REDIRECT_URIS) throw new ValidationError(`redirect-uri: at most ${MAX_REDIRECT_URIS} redirect URIs`, "invalid_redirect_uri");
    for (const uri of input.redirectUris) {
      const problem = validateRedirectUri(uri);
      if (problem !== null) throw new ValidationError(`redirect-uri <${uri.slice(0, 100)}>: ${problem}`, "invalid_redirect_uri");
    }
  }
  if (input.postLogoutRedirectUris !== undefined) {
    if (input.postLogoutRedirectUris.length > MAX_REDIRECT_URIS) {
      throw new ValidationError(`post-logout-redirect-uri: at most ${MAX_REDIRECT_URIS} URIs`, "invalid_redirect_uri");
    }
    for (const uri of input.postLogoutRedirectUris) {
      const problem = validateRedirectUri(uri);
      if (problem !== null) throw new ValidationError(`post-logout-redirect-uri <${uri.slice(0, 100)}>: ${problem}`, "invalid_redirect_uri");
    }
  }
  if (merged.grantTypes.includes("authorization_code") && merged.redirectUris.length === 0) {
    throw new ValidationError("redirect-uri: authorization_code needs at least one redirect URI (--redirect-uri)", "invalid_redirect_uri");
  }
  if (merged.public) {
    const refused = merged.grantTypes.filter((g) => !PUBLIC_CLIENT_GRANTS.includes(g));
    if (refused.length) {
      throw new ValidationError(`public: a public client (no secret) may use only ${PUBLIC_CLIENT_GRANTS.join(" and ")}, not ${refused.join(", ")}`, "invalid_client_metadata");
    }
    if (merged.jwks) throw new ValidationError("public: a public client has no keys (jwks) and no secret", "invalid_client_metadata");
  }
}

function validate(input: ClientUpdate, merged: Merged): void {
  if (input.name !== undefined && (input.name.trim() === "" || input.name.length > 200 || /[\u0000-\u001f\u007f]/.test(input.name))) {
    throw new ValidationError("name: must be 1 to 200 characters, without control characters");
  }
  if (input.grantTypes !== undefined) {
    if (input.grantTypes.length === 0) throw new ValidationError("grant: at least one grant type is needed");
    const unknown = input.grantTypes.filter((g) => !GRANT_TYPES.includes(g));
    if (unknown.length) throw new ValidationError(`grant: unsupported ${unknown.join(", ")} (supported: ${GRANT_TYPES.join(", ")})`);
  }
  if (merged.grantTypes.includes("password") && !merged.firstParty) {
    throw new ValidationError("grant: password is for first-party clients only (--first-party)");
  }
  const badScope = input.scopes?.find((s) => !isScopeToken(s));
  if (badScope !== undefined) throw new ValidationError(`scope: ${JSON.stringify(badScope)} is not a valid scope token`);
  if (input.audiences !== undefined) {
    if (input.audiences.length === 0) throw new ValidationError("audience: at least one audience is needed");
    const bad = input.audiences.find((a) => !isAudience(a));
    if (bad !== undefined) throw new ValidationError(`audience: ${JSON.stringify(bad)} must be an absolute URI without fragment, spaces or control characters`);
  }
  if (input.jwks) checkJwks(input.jwks);
  const ttl = input.tokenTtlSeconds;
  if (ttl != null && (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_SECONDS)) {
    throw new ValidationError(`token-ttl: must be an integer from 1 to ${MAX_TOKEN_TTL_SECONDS} seconds`);
  }
  validateCodeFlow(input, merged);
}

const distinct = (list: string[]) => [...new Set(list)];

export type ClientServiceOptions = {
  repo: ClientRepository;
  /** a disabled or deleted client's Token Status List blocks are invalidated (its tokens read INVALID) */
  statusBlocks: StatusListRepository;
  audit: AuditRepository;
  clock: Clock;
  /** runs after every write, so this process sees its own changes at once */
  changed?: () => Promise<void>;
};

/** Every change is audited under `actor`: "cli", "admin:<client_id>", … */
export class ClientService {
  readonly #repo: ClientRepository;
  readonly #statusBlocks: StatusListRepository;
  readonly #audit: AuditRepository;
  readonly #clock: Clock;
  readonly #changed: () => Promise<void>;

  constructor(options: ClientServiceOptions) {
    this.#repo = options.repo;
    this.#statusBlocks = options.statusBlocks;
    this.#audit = options.audit;
    this.#clock = options.clock;
    this.#changed = options.changed ?? (async () => {});
  }

  /** clientSecret is null for a client registered with keys (private_key_jwt) and for a public client. */
  async create(input: ClientInput, actor = "system"): Promise<{ client: ClientView; clientSecret: string | null }> {
    validate(input, {
      grantTypes: input.grantTypes,
      firstParty: input.firstParty ?? false,
      public: input.public ?? false,
      redirectUris: input.redirectUris ?? [],
      jwks: input.jwks ?? null,
    });
    const clientSecret = input.jwks || input.public ? null : randomToken(32);
    const client = await this.#repo.create({
      id: newClientId(),
      name: input.name.trim(),
      grantTypes: distinct(input.grantTypes),
      scopes: distinct(input.scopes),
      audiences: distinct(input.audiences),
      tokenTtlSeconds: input.tokenTtlSeconds ?? null,
      firstParty: input.firstParty ?? false,
      canIntrospect: input.canIntrospect ?? false,
      jwks: input.jwks ?? null,
      redirectUris: distinct(input.redirectUris ?? []),
      postLogoutRedirectUris: distinct(input.postLogoutRedirectUris ?? []),
      public: input.public ?? false,
      dpopBoundAccessTokens: input.dpopBoundAccessTokens ?? false,
      requirePushedAuthorizationRequests: input.requirePushedAuthorizationRequests ?? false,
      enabled: true,
      secretDigest: clientSecret === null ? null : sha256(clientSecret),
      previousSecretDigest: null,
      previousSecretExpiresAt: null,
    });
    await this.#written(actor, "client.create", client.id, { name: client.name });
    return { client: viewOf(client), clientSecret };
  }

  async list(): Promise<ClientView[]> {
    return (await this.#repo.listAll()).map(viewOf);
  }

  async show(id: string): Promise<ClientView> {
    return viewOf(await this.#existing(id));
  }

  /** No changes at all is no write (and no audit entry): the client as it is. */
  async update(id: string, changes: ClientUpdate, actor = "system"): Promise<ClientView> {
    const current = await this.#existing(id);
    if (Object.values(changes).every((v) => v === undefined)) return viewOf(current);
    validate(changes, {
      grantTypes: changes.grantTypes ?? current.grantTypes,
      firstParty: changes.firstParty ?? current.firstParty,
      public: changes.public ?? current.public,
      redirectUris: changes.redirectUris ?? current.redirectUris,
      jwks: changes.jwks === undefined ? current.jwks : changes.jwks,
    });
    const patch: ClientChanges = {
      ...changes,
      // A client made public loses its secrets: it may no longer authenticate with one. Made
      // confidential again, it has none until `rotate-secret` gives it one.
      ...(changes.public === true && { secretDigest: null, previousSecretDigest: null, previousSecretExpiresAt: null }),
      ...(changes.redirectUris && { redirectUris: distinct(changes.redirectUris) }),
      ...(changes.postLogoutRedirectUris && { postLogoutRedirectUris: distinct(changes.postLogoutRedirectUris) }),
      ...(changes.name !== undefined && { name: changes.name.trim() }),
      ...(changes.grantTypes && { grantTypes: distinct(changes.grantTypes) }),
      ...(changes.scopes && { scopes: distinct(changes.scopes) }),
      ...(changes.audiences && { audiences: distinct(changes.audiences) }),
    };
    const updated = await this.#repo.update(id, patch);
    if (updated && changes.enabled === false) await this.#endTokens(id);
    return this.#saved(id, updated, actor, "client.update", { fields: Object.keys(changes) });
  }

  /** A new secret; with graceSeconds > 0 the current one stays valid that long for a roll-over. */
  async rotateSecret(id: string, graceSeconds = 0, actor = "system"): Promise<{ client: ClientView; clientSecret: string }> {
    if (!Number.isInteger(graceSeconds) || graceSeconds < 0) throw new ValidationError("grace: must be a whole number of seconds");
    const current = await this.#existing(id);
    if (current.public) throw new ValidationError("public: a public client has no secret to rotate");
    const clientSecret = randomToken(32);
    const keepPrevious = graceSeconds > 0 && current.secretDigest !== null;
    const client = await this.#saved(id, await this.#repo.update(id, {
      secretDigest: sha256(clientSecret),
      previousSecretDigest: keepPrevious ? current.secretDigest : null,
      previousSecretExpiresAt: keepPrevious ? new Date(this.#clock.now() + graceSeconds * 1000) : null,
    }), actor, "client.rotate_secret", { graceSeconds });
    return { client, clientSecret };
  }

  disable(id: string, actor = "system"): Promise<ClientView> {
    return this.update(id, { enabled: false }, actor);
  }

  async delete(id: string, actor = "system"): Promise<void> {
    if (!(await this.#repo.delete(id))) throw new NotFoundError(`client ${id} not found`);
    await this.#endTokens(id);
    await this.#written(actor, "client.delete", id, {});
  }

  /**
   * Its access tokens die with it: introspection asks the registry, and resource servers reading
   * the status lists see every entry of its live blocks INVALID (a re-enabled client's old tokens
   * stay INVALID there). Run again when it is disabled again: it only marks what is not yet.
   */
  async #endTokens(id: string): Promise<void> {
    await this.#statusBlocks.invalidateClient(id, new Date(this.#clock.now()));
  }

  async #existing(id: string): Promise<ClientRecord> {
    const client = await this.#repo.findById(id);
    if (!client) throw new NotFoundError(`client ${id} not found`);
    return client;
  }

  async #saved(id: string, client: ClientRecord | null, actor: string, action: string, details: Record<string, unknown>): Promise<ClientView> {
    if (!client) throw new NotFoundError(`client ${id} not found`);
    await this.#written(actor, action, id, details);
    return viewOf(client);
  }

  async #written(actor: string, action: string, id: string, details: Record<string, unknown>): Promise<void> {
    await this.#audit.record({ at: new Date(this.#clock.now()), actor, action, target: `client:${id}`, details });
    await this.#changed();
  }
}
