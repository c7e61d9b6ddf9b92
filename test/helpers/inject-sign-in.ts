// A user at tessera's /authorize pages without a browser: app.inject with a cookie jar, for interop
// tests whose client builds the authorization URL (the browser tests drive the same pages in Chromium).
import type { FastifyInstance } from "fastify";
import { form } from "./app.js";
import { CookieJar, hidden } from "./authorize.js";

/**
 * Opens `authorizationUrl` (tessera's /authorize with the client's parameters), signs in as
 * `username` and allows the client when asked; resolves with where tessera redirects (the callback).
 */
export async function signInAndAllow(app: FastifyInstance, authorizationUrl: URL, username: string, password: string, jar = new CookieJar()): Promise<URL> {
  const page = jar.take(await app.inject({ method: "GET", url: `${authorizationUrl.pathname}${authorizationUrl.search}` }));
  if (page.statusCode !== 200) throw new Error(`no sign-in page: ${page.statusCode} ${page.body}`);
  const post = async (path: string, body: string) =>
    jar.take(await app.inject({ method: "POST", url: path, payload: body, headers: { "content-type": "application/x-www-form-urlencoded", ...jar.header() } }));
  const fields = (body: string) => ({ interaction: hidden(body, "interaction"), csrf_token: hidden(body, "csrf_token") });
  let done = await post("/authorize/sign-in", form({ ...fields(page.body), username, password }));
  if (done.statusCode === 200) done = await post("/authorize/consent", form({ ...fields(done.body), decision: "allow" }));
  if (done.statusCode !== 303) throw new Error(`no redirect: ${done.statusCode} ${done.body}`);
  return new URL(done.headers.location as string);
}
