// A small but real HTTP authorization server for the tests that tessera cannot (yet) drive: it
// serves RFC 8414 metadata, a JWKS and Status List Tokens signed with jose, counts every fetch,
// and signs access tokens with whatever header and claims a test asks for.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from "jose";
import { StatusList, type StatusListBits } from "../../../../src/domain/tokens/status-list.js";

type Test = { teardown(fn: () => unknown): void };

export type IssuerKey = { kid: string; privateKey: CryptoKey; jwk: JWK };

export type TestIssuer = {
  issuer: string;
  origin: string;
  /** Fetches per path ("/.well-known/jwks.json", "/statuslists/1", …). */
  fetches: Map<string, number>;
  /** Keys in the JWKS; the first signs. */
  keys: IssuerKey[];
  newKey(kid: string): Promise<IssuerKey>;
  /** The list served at /statuslists/<name> (created on first use). */
  list(name: string, bits?: StatusListBits, size?: number): StatusList;
  /** Claims of the Status List Token, per list (defaults: ttl 300, exp in 1 h). */
  listClaims: Map<string, JWTPayload>;
  /** Header or response overrides for a list (content type, typ, signing key). */
  listResponse: Map<string, ListResponse>;
  /** An access token; defaults are a valid RFC 9068 token for `audience`. */
  sign(claims?: JWTPayload, header?: { typ?: string; kid?: string; key?: IssuerKey; alg?: string }): Promise<string>;
  listUri(name: string): string;
};

/** How a list's answer differs from a good one; padBytes appends bytes to the JWT (an oversized answer). */
export type ListResponse = { contentType?: string; typ?: string; key?: IssuerKey; delayMs?: number; padBytes?: number };

export const AUDIENCE = "https://api.example.test";

/**
 * `path` gives the issuer a path component (RFC 8414 §3). `now` is the time tokens are issued
 * at (seconds).
 */
export async function startIssuer(t: Test, options: { path?: string; now?: () => number } = {}): Promise<TestIssuer> {
  const fetches = new Map<string, number>();
  const lists = new Map<string, StatusList>();
  const listClaims = new Map<string, JWTPayload>();
  const listResponse = new Map<string, ListResponse>();
  const keys: IssuerKey[] = [];
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  let origin = "";
  let issuer = "";
  const path = options.path ?? "";

  const newKey = async (kid: string): Promise<IssuerKey> => {
    const { privateKey, publicKey } = await generateKeyPair("ES256");
    return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" } };
  };
  keys.push(await newKey("key-1"));

  const list = (name: string, bits: StatusListBits = 1, size = 1024) => {
    let found = lists.get(name);
    if (!found) {
      found = new StatusList(size, bits);
      lists.set(name, found);
    }
    return found;
  };

  const send = (res: ServerResponse, status: number, type: string, body: string) => {
    res.writeHead(status, { "content-type": type });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? "/";
    fetches.set(url, (fetches.get(url) ?? 0) + 1);
    if (url === `/.well-known/oauth-authorization-server${path}`) {
      return send(res, 200, "application/json", JSON.stringify({
        issuer,
        jwks_uri: `${origin}/.well-known/jwks.json`,
        access_token_signing_alg_values_supported: ["ES256", "RS256"],
      }));
    }
    if (url === "/.well-known/jwks.json") return send(res, 200, "application/json", JSON.stringify({ keys: keys.map((k) => k.jwk) }));
    const match = /^\/statuslists\/([\w-]+)$/.exec(url);
    const found = match && lists.get(match[1]!);
    if (!match || !found) return send(res, 404, "text/plain", "not found");
    const name = match[1]!;
    const overrides = listResponse.get(name) ?? {};
    if (overrides.delayMs) await new Promise((resolve) => setTimeout(resolve, overrides.delayMs));
    const key = overrides.key ?? keys[0]!;
    const jwt = await new SignJWT({
      sub: `${origin}${url}`,
      iat: now(),
      exp: now() + 3600,
      ttl: 300,
      status_list: { bits: found.bits, lst: found.encode() },
      ...listClaims.get(name),
    })
      .setProtectedHeader({ alg: "ES256", kid: key.kid, typ: overrides.typ ?? "statuslist+jwt" })
      .sign(key.privateKey);
    return send(res, 200, overrides.contentType ?? "application/statuslist+jwt", jwt + "A".repeat(overrides.padBytes ?? 0));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => send(res, 500, "text/plain", String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  issuer = `${origin}${path}`;

  return {
    issuer,
    origin,
    fetches,
    keys,
    newKey,
    list,
    listClaims,
    listResponse,
    listUri: (name) => `${origin}/statuslists/${name}`,
    async sign(claims = {}, header = {}) {
      const key = header.key ?? keys[0]!;
      return new SignJWT({
        iss: issuer,
        aud: AUDIENCE,
        sub: "client-1",
        client_id: "client-1",
        jti: crypto.randomUUID(),
        iat: now(),
        exp: now() + 300,
        scope: "read",
        ...claims,
      })
        .setProtectedHeader({ alg: header.alg ?? "ES256", kid: header.kid ?? key.kid, typ: header.typ ?? "at+jwt" })
        .sign(key.privateKey);
    },
  };
}

/** Fetches of `path` so far. */
export const fetchCount = (issuer: TestIssuer, path: string) => issuer.fetches.get(path) ?? 0;
