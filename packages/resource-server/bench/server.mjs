// One resource server for the bench, in its own process: GET /things answers the token's client,
// guarded either by the plugin (mode "plugin": discovery, JWKS, at+jwt, iss, aud, exp, status
// list, scope "read") or by jose.jwtVerify alone (mode "jose": the same JWKS and checks, no status
// list, no scope). Prints its URL on stdout.
import Fastify from "fastify";
import { createRemoteJWKSet, jwtVerify } from "jose";
import resourceServer from "../dist/index.js";

const [mode, issuer, audience] = process.argv.slice(2);
const app = Fastify();

if (mode === "plugin") {
  await app.register(resourceServer, { issuer, audience });
  app.get("/things", { preHandler: app.requireScopes("read") }, async (request) => ({ client: request.accessToken.client_id }));
} else {
  const metadata = await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json();
  const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri));
  const options = { issuer, audience, typ: "at+jwt", algorithms: metadata.access_token_signing_alg_values_supported };
  app.get("/things", async (request, reply) => {
    const token = /^Bearer (.+)$/i.exec(request.headers.authorization ?? "")?.[1];
    if (!token) return reply.code(401).send({ error: "invalid_token" });
    try {
      const { payload } = await jwtVerify(token, jwks, options);
      return { client: payload.client_id };
    } catch {
      return reply.code(401).send({ error: "invalid_token" });
    }
  });
}
process.stdout.write(`${await app.listen({ port: 0, host: "127.0.0.1" })}\n`);
