// DPoP proofs (RFC 9449 §4.2) for the load generator: one ES256 key per client, one proof per request
// (its own jti, the current iat, htm POST, htu the server's token endpoint). Signing costs the client
// CPU on a 2-core machine that the server needs too, so run.mjs signs a pool of proofs just before
// each load and the load only takes the next one from it (ProofPool.next): the server is measured,
// not the client's signer. node:crypto signs synchronously, which autocannon's per-request hook
// (setupRequest) needs when the pool runs out; every such proof is counted and run.mjs fails the run.
import { createHash, generateKeyPairSync, randomUUID, sign } from "node:crypto";

const b64url = (value) => Buffer.from(value).toString("base64url");

/** A P-256 key pair, its public JWK in the proof header, and its RFC 7638 thumbprint (what cnf.jkt must be). */
export function dpopKey() {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const { crv, kty, x, y } = publicKey.export({ format: "jwk" });
  // RFC 7638 §3.2: the required members only, in lexicographic order, no whitespace.
  const thumbprint = createHash("sha256").update(JSON.stringify({ crv, kty, x, y })).digest("base64url");
  const header = b64url(JSON.stringify({ typ: "dpop+jwt", alg: "ES256", jwk: { kty, crv, x, y } }));
  return { privateKey, thumbprint, header };
}

/** One proof for `POST htu`, issued now. */
export function signProof(key, htu) {
  const payload = b64url(JSON.stringify({ jti: randomUUID(), htm: "POST", htu, iat: Math.floor(Date.now() / 1000) }));
  const input = `${key.header}.${payload}`;
  const signature = sign("sha256", Buffer.from(input), { key: key.privateKey, dsaEncoding: "ieee-p1363" });
  return `${input}.${signature.toString("base64url")}`;
}

/** `size` proofs signed now for one key and endpoint; next() hands each out once. */
export class ProofPool {
  constructor(key, htu, size) {
    this.key = key;
    this.htu = htu;
    this.proofs = Array.from({ length: size }, () => signProof(key, htu));
    this.used = 0;
    /** Proofs signed during the load because the pool ran out: their cost fell on the load generator. */
    this.signedDuringLoad = 0;
  }

  next() {
    if (this.used < this.proofs.length) return this.proofs[this.used++];
    this.signedDuringLoad++;
    return signProof(this.key, this.htu);
  }
}
