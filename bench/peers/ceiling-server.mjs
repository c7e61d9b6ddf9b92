// The ceiling: the least an HTTP service can do to answer a client_credentials request with an RS256
// JWT access token — Fastify 5 + @fastify/formbody, one client compared in memory, jose SignJWT with a
// key made at start. No database, no audit, no metrics, no rate limit, no key rotation. Whatever
// tessera spends above this is the price of its features (or of avoidable work).
// With a DPoP header, the least RFC 9449 §4.3 asks: the proof verified with its embedded key (ES256 or
// EdDSA, typ dpop+jwt), htm, htu, iat within 60 s, its jti not seen before (a Map in memory, swept),
// and the token bound to the key's thumbprint (cnf.jkt, token_type DPoP).
//
// Env: PORT (127.0.0.1 only), BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, BENCH_AUDIENCE, BENCH_SCOPE, and
// BENCH_ALG (RS256 by default; ES256 for the row that shows what the bare stack does with ES256 keys).
// POST /token; GET /.well-known/jwks.json.
import Fastify from "fastify";
import formbody from "@fastify/formbody";
import { calculateJwkThumbprint, EmbeddedJWK, exportJWK, generateKeyPair, jwtVerify, SignJWT } from "jose";
import { createHash, randomUUID, timingSafeEqual } from "node:crypto";

const PORT = Number(process.env.PORT);
const HOST = "127.0.0.1";
const CLIENT_ID = process.env.BENCH_CLIENT_ID;
const CLIENT_SECRET = process.env.BENCH_CLIENT_SECRET;
const AUDIENCE = process.env.BENCH_AUDIENCE ?? "https://api.bench.test";
const SCOPE = process.env.BENCH_SCOPE ?? "read write";
const ISSUER = `http://${HOST}:${PORT}`;
const TTL = 900;
const ALG = process.env.BENCH_ALG ?? "RS256";
if (!PORT || !CLIENT_ID || !CLIENT_SECRET) {
  console.error("ceiling-server: PORT, BENCH_CLIENT_ID and BENCH_CLIENT_SECRET are required");
  process.exit(2);
}

const { privateKey, publicKey } = await generateKeyPair(ALG, ALG === "RS256" ? { modulusLength: 2048 } : {});
const publicJwk = await exportJWK(publicKey);
const kid = await calculateJwkThumbprint(publicJwk);
const JWKS = JSON.stringify({ keys: [{ ...publicJwk, kid, alg: ALG, use: "sig" }] });

const digest = (s) => createHash("sha256").update(s).digest();
const SECRET_DIGEST = digest(CLIENT_SECRET);

/** client_secret_basic (RFC 6749 §2.3.1: id and secret form-urlencoded, then Basic). */
function basicCredentials(header) {
  if (typeof header !== "string" || !header.startsWith("Basic ")) return null;
  const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  try {
    return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
  } catch {
    return null;
  }
}

const DPOP_WINDOW_SECONDS = 60;
const seenJtis = new Map(); // jti -> iat; entries older than the window can no longer be replayed
setInterval(() => {
  const oldest = Math.floor(Date.now() / 1000) - DPOP_WINDOW_SECONDS;
  for (const [jti, iat] of seenJtis) if (iat < oldest) seenJtis.delete(jti);
}, 10_000).unref();

/** The proof's key thumbprint, or null when the proof fails a check. */
async function dpopThumbprint(proof, now) {
  try {
    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: "dpop+jwt", algorithms: ["ES256", "EdDSA"] });
    if (payload.htm !== "POST" || payload.htu !== `${ISSUER}/token` || typeof payload.jti !== "string") return null;
    if (typeof payload.iat !== "number" || Math.abs(now - payload.iat) > DPOP_WINDOW_SECONDS || seenJtis.has(payload.jti)) return null;
    seenJtis.set(payload.jti, payload.iat);
    return await calculateJwkThumbprint(protectedHeader.jwk);
  } catch {
    return null;
  }
}

const app = Fastify({ logger: false });
await app.register(formbody);

app.post("/token", async (req, reply) => {
  reply.header("cache-control", "no-store").header("pragma", "no-cache");
  const creds = basicCredentials(req.headers.authorization);
  if (!creds || creds.id !== CLIENT_ID || !timingSafeEqual(digest(creds.secret), SECRET_DIGEST)) {
    return reply.code(401).header("www-authenticate", 'Basic realm="token"').send({ error: "invalid_client" });
  }
  const body = req.body ?? {};
  if (body.grant_type !== "client_credentials") return reply.code(400).send({ error: "unsupported_grant_type" });
  const resource = body.resource ?? body.audience ?? AUDIENCE;
  if (resource !== AUDIENCE) return reply.code(400).send({ error: "invalid_target" });
  const allowed = SCOPE.split(" ");
  const asked = typeof body.scope === "string" && body.scope !== "" ? body.scope.split(" ") : allowed;
  if (!asked.every((s) => allowed.includes(s))) return reply.code(400).send({ error: "invalid_scope" });
  const scope = asked.join(" ");
  const now = Math.floor(Date.now() / 1000);
  const proof = req.headers.dpop;
  const jkt = typeof proof === "string" ? await dpopThumbprint(proof, now) : null;
  if (proof !== undefined && !jkt) return reply.code(400).header("www-authenticate", 'DPoP error="invalid_dpop_proof"').send({ error: "invalid_dpop_proof" });
  const accessToken = await new SignJWT({ client_id: CLIENT_ID, scope, ...(jkt && { cnf: { jkt } }) })
    .setProtectedHeader({ alg: ALG, typ: "at+jwt", kid })
    .setIssuer(ISSUER)
    .setSubject(CLIENT_ID)
    .setAudience(AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + TTL)
    .setJti(randomUUID())
    .sign(privateKey);
  return { access_token: accessToken, token_type: jkt ? "DPoP" : "Bearer", expires_in: TTL, scope };
});

app.get("/.well-known/jwks.json", (_req, reply) => {
  reply.header("content-type", "application/json; charset=utf-8").header("cache-control", "public, max-age=300").send(JWKS);
});

await app.listen({ port: PORT, host: HOST });
const stop = () => app.close().then(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
