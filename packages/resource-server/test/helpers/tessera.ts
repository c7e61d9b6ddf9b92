// A real tessera over HTTP whose issuer is the URL it listens on, so that a resource server can
// discover it (RFC 8414) as it would in production. Its clock starts at the real time, so tokens
// it issues verify against the real clock.
import net from "node:net";
import type { FastifyInstance } from "fastify";
import { basic, buildTestApp, form } from "../../../../test/helpers/app.js";
import { SettableClock } from "../../../../test/helpers/clock.js";

type Test = Parameters<typeof buildTestApp>[0];

export type RunningTessera = {
  app: FastifyInstance;
  issuer: string;
  clock: SettableClock;
  /**
   * A client-credentials access token for `audience` with `scope`; with `dpop` (a DPoP proof for
   * POST ${issuer}/token), a DPoP-bound one (RFC 9449 §5).
   */
  token(params?: { scope?: string; audience?: string; dpop?: string }): Promise<string>;
  /** POST /revoke (RFC 7009) of one of the client's tokens; resolves to the HTTP status. */
  revoke(token: string): Promise<number>;
};

export const AUDIENCE = "https://api.example.test";

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });

export async function startTessera(t: Test, env: Record<string, string> = {}): Promise<RunningTessera> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const clock = new SettableClock(Date.now());
  const { app, createClient } = await buildTestApp(t, { TESSERA_ISSUER: issuer, ...env }, clock);
  await app.listen({ port, host: "127.0.0.1" });
  const { clientId, clientSecret } = await createClient();
  return {
    app,
    issuer,
    clock,
    async token({ scope = "read", audience = AUDIENCE, dpop }: { scope?: string; audience?: string; dpop?: string } = {}) {
      const res = await fetch(`${issuer}/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(clientId, clientSecret), ...(dpop !== undefined && { dpop }) },
        body: form({ grant_type: "client_credentials", scope, audience }),
      });
      if (res.status !== 200) throw new Error(`tessera /token answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { access_token: string }).access_token;
    },
    async revoke(token) {
      const res = await fetch(`${issuer}/revoke`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(clientId, clientSecret) },
        body: form({ token }),
      });
      await res.arrayBuffer();
      return res.status;
    },
  };
}
