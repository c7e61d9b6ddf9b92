// The peer: node-oidc-provider 9 set up for what tessera's /token does for a service client —
// client_credentials, client_secret_basic, an RS256 JWT access token (RFC 9068, typ at+jwt) for one
// resource server chosen by resource indicator (RFC 8707). One static client; an RSA-2048 signing key
// made at start. In-memory adapter (its default): JWT-format access tokens are not stored anyway.
// DPoP (RFC 9449) on, as in its defaults, spelled out: a proof on /token binds the token (cnf.jkt,
// token_type DPoP), its jti is checked for replay (allowReplay false) in the adapter's ReplayDetection
// store (here the in-memory LRU of 1000 entries: one process, no shared store), iat within 300 s
// (CHALLENGE_OK_WINDOW), no server nonce (no nonceSecret), ES256 and EdDSA proofs.
//
// Env: PORT (127.0.0.1 only), BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, BENCH_AUDIENCE, BENCH_SCOPE.
// Token endpoint POST /token; JWKS GET /jwks; discovery GET /.well-known/openid-configuration.
import Provider, { errors } from "oidc-provider";
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";

const PORT = Number(process.env.PORT);
const HOST = "127.0.0.1";
const CLIENT_ID = process.env.BENCH_CLIENT_ID;
const CLIENT_SECRET = process.env.BENCH_CLIENT_SECRET;
const AUDIENCE = process.env.BENCH_AUDIENCE ?? "https://api.bench.test";
const SCOPE = process.env.BENCH_SCOPE ?? "read write";
if (!PORT || !CLIENT_ID || !CLIENT_SECRET) {
  console.error("oidc-provider-server: PORT, BENCH_CLIENT_ID and BENCH_CLIENT_SECRET are required");
  process.exit(2);
}

const { privateKey } = await generateKeyPair("RS256", { modulusLength: 2048, extractable: true });
const jwk = await exportJWK(privateKey);
const signingKey = { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: "RS256", use: "sig" };

const resourceServer = {
  scope: SCOPE,
  audience: AUDIENCE,
  accessTokenFormat: "jwt",
  accessTokenTTL: 900,
  jwt: { sign: { alg: "RS256" } },
};

const provider = new Provider(`http://${HOST}:${PORT}`, {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      token_endpoint_auth_method: "client_secret_basic",
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
      scope: SCOPE,
    },
  ],
  jwks: { keys: [signingKey] },
  scopes: SCOPE.split(" "),
  ttl: { ClientCredentials: 900 }, // the resource server's accessTokenTTL wins; this silences a notice
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    dPoP: { enabled: true, allowReplay: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => AUDIENCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resourceIndicator) => {
        if (resourceIndicator !== AUDIENCE) throw new errors.InvalidTarget();
        return resourceServer;
      },
    },
  },
});

const server = provider.listen(PORT, HOST);
const stop = () => server.close(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
