// A second relying party in another language: Python's Authlib (Debian's python3-authlib, run with
// /usr/bin/python3) exchanges a code from a real sign-in, validates the ID token itself (signature,
// iss, aud, exp, iat, nonce and at_hash) and fetches /userinfo (test/interop/authlib_rp.py). Authlib
// 1.2 derives the at_hash hash from the alg's digits (sha256 for RS256/PS256/ES256) and has none for
// EdDSA, so EdDSA is covered by openid-client.test.ts only.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import t from "tap";
import { authorizeFixture, locationParams } from "../helpers/authorize.js";
import { freePort } from "../helpers/server-process.js";

const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("./authlib_rp.py", import.meta.url));
const CALLBACK = "https://rp.example.test/callback";

for (const alg of ["RS256", "PS256", "ES256"]) {
  t.test(`SIGNING_ALG=${alg}: Authlib validates the ID token and reads /userinfo`, async (t) => {
    // Real time, and a real port: Authlib checks exp and iat against its own clock and speaks HTTP.
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const f = await authorizeFixture(t, { TESSERA_ISSUER: issuer, SIGNING_ALG: alg }, { firstParty: true, redirectUris: [CALLBACK], scopes: ["openid", "profile", "email"] });
    f.clock.advance((Date.now() - f.clock.now()) / 1000); // the fixture starts on a fixed date
    await f.app.services.users.update(f.userId, { name: "Alice Liddell", email: "alice@example.test", email_verified: true });
    await f.app.listen({ port, host: "127.0.0.1" });

    const verifier = "authlib-relying-party-verifier-0123456789abcdefghijklmnop";
    const nonce = "n-authlib ✓ 42";
    const page = await f.authorize({ redirect_uri: CALLBACK, scope: "openid profile email", nonce, code_challenge: createHash("sha256").update(verifier).digest("base64url") });
    const done = await f.signIn(page);
    t.equal(done.statusCode, 303, done.body);
    t.type(locationParams(done).code, "string");

    const { stdout } = await promisify(execFile)(PYTHON, [SCRIPT, issuer, f.clientId, f.clientSecret, CALLBACK, done.headers.location as string, verifier, nonce], { timeout: 60_000 });
    const result = JSON.parse(stdout) as { id_token: Record<string, unknown>; header: Record<string, unknown>; userinfo: Record<string, unknown> };
    t.match(result.header, { alg, typ: "JWT" });
    t.match(result.id_token, { iss: issuer, sub: f.userId, aud: f.clientId, nonce });
    t.type(result.id_token.at_hash, "string");
    t.same(result.userinfo, { sub: f.userId, name: "Alice Liddell", preferred_username: "alice", email: "alice@example.test", email_verified: true });
  });
}
