// Client registrations. Lists are stored space-separated and returned as arrays.
import { bumpVersion, readVersion } from "./cache-versions.js";
import type { Db } from "./prisma.js";

export type ClientRecord = {
  id: string;
  name: string;
  grantTypes: string[];
  scopes: string[];
  /** The first one is the default audience. */
  audiences: string[];
  tokenTtlSeconds: number | null;
  firstParty: boolean;
  enabled: boolean;
  /** may introspect tokens issued for its audiences, not only its own */
  canIntrospect: boolean;
  /** public JWK Set for private_key_jwt */
  jwks: JsonWebKeySet | null;
  secretDigest: string | null;
  previousSecretDigest: string | null;
  previousSecretExpiresAt: Date | null;
  /** registered redirect URIs (authorization code flow), matched exactly (redirect-uris.ts) */
  redirectUris: string[];
  /** where RP-initiated logout may send the browser afterwards, matched as redirect URIs are */
  postLogoutRedirectUris: string[];
  /** a public client: no secret, token endpoint auth method none (authorization_code and refresh_token only) */
  public: boolean;
  /** DPoP (RFC 9449 §5.2): every token request must carry a proof, every access token is key-bound */
  dpopBoundAccessTokens: boolean;
  /** PAR (RFC 9126 §6): /authorize takes this client's requests only by a pushed request_uri */
  requirePushedAuthorizationRequests: boolean;
  createdAt: Date;
  updatedAt: Date;
};

export type JsonWebKeySet = { keys: Record<string, unknown>[] };

export type NewClient = Omit<ClientRecord, "createdAt" | "updatedAt">;
export type ClientChanges = Partial<Omit<NewClient, "id">>;

type Row = Awaited<ReturnType<Db["client"]["findFirstOrThrow"]>>;

const split = (list: string): string[] => (list === "" ? [] : list.split(" "));

function toRecord(row: Row): ClientRecord {
  return {
    ...row,
    grantTypes: split(row.grantTypes),
    scopes: split(row.scopes),
    audiences: split(row.audiences),
    redirectUris: split(row.redirectUris),
    postLogoutRedirectUris: split(row.postLogoutRedirectUris),
    jwks: row.jwks === null ? null : (JSON.parse(row.jwks) as JsonWebKeySet),
  };
}

function toRow(changes: ClientChanges) {
  const { grantTypes, scopes, audiences, redirectUris, postLogoutRedirectUris, jwks, ...rest } = changes;
  return {
    ...rest,
    ...(jwks !== undefined && { jwks: jwks === null ? null : JSON.stringify(jwks) }),
    ...(grantTypes && { grantTypes: grantTypes.join(" ") }),
    ...(scopes && { scopes: scopes.join(" ") }),
    ...(audiences && { audiences: audiences.join(" ") }),
    ...(redirectUris && { redirectUris: redirectUris.join(" ") }),
    ...(postLogoutRedirectUris && { postLogoutRedirectUris: postLogoutRedirectUris.join(" ") }),
  };
}

export class ClientRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async listAll(): Promise<ClientRecord[]> {
    return (await this.#db.client.findMany({ orderBy: { createdAt: "asc" } })).map(toRecord);
  }

  async findById(id: string): Promise<ClientRecord | null> {
    const row = await this.#db.client.findUnique({ where: { id } });
    return row && toRecord(row);
  }

  async create(client: NewClient): Promise<ClientRecord> {
    const [row] = await this.#db.$transaction([
      this.#db.client.create({ data: { ...toRow(client), id: client.id, name: client.name, grantTypes: client.grantTypes.join(" ") } }),
      bumpVersion(this.#db, "clients"),
    ]);
    return toRecord(row);
  }

  /** null when there is no such client. `changes` must not be empty (Prisma then updates no row). */
  async update(id: string, changes: ClientChanges): Promise<ClientRecord | null> {
    const [result] = await this.#db.$transaction([
      this.#db.client.updateMany({ where: { id }, data: toRow(changes) }),
      bumpVersion(this.#db, "clients"),
    ]);
    return result.count === 1 ? this.findById(id) : null;
  }

  /** false when there was no such client. */
  async delete(id: string): Promise<boolean> {
    const [result] = await this.#db.$transaction([
      this.#db.client.deleteMany({ where: { id } }),
      bumpVersion(this.#db, "clients"),
    ]);
    return result.count === 1;
  }

  /** The longest per-client access-token lifetime (0 when no client overrides the default). */
  async maxTokenTtlSeconds(): Promise<number> {
    const { _max } = await this.#db.client.aggregate({ _max: { tokenTtlSeconds: true } });
    return _max.tokenTtlSeconds ?? 0;
  }

  version(): Promise<number> {
    return readVersion(this.#db, "clients");
  }
}
