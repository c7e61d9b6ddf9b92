// Driving /authorize's pages with app.inject(): a cookie jar, the hidden fields of a page's form,
// and the usual client, user and PKCE pair of the authorization tests.
import { createHash } from "node:crypto";
import type { LightMyRequestResponse } from "fastify";
import type { ClientInput } from "../../src/domain/clients/client-service.js";
import { buildTestApp, form, type TestApp } from "./app.js";
import { setCookies } from "./cookies.js";

type Test = { teardown(fn: () => unknown): void };

export const VERIFIER = "dBjftJeZ4CVP-mJ92K9zQpW8wOzGnK7zF2f3lC1rW5s_verifier-of-the-tests";
export const CHALLENGE = createHash("sha256").update(VERIFIER).digest("base64url");
export const REDIRECT_URI = "https://app.example.test/callback";
export const USERNAME = "alice";
export const PASSWORD = "correct horse battery";

/** Cookies as a browser keeps them: by name, updated by every answer (Max-Age=0 or an Expires in the past deletes). */
export class CookieJar {
  readonly cookies = new Map<string, string>();

  take(res: LightMyRequestResponse): LightMyRequestResponse {
    for (const c of setCookies(res)) {
      const expired = c.attributes["max-age"] === "0" || (typeof c.attributes.expires === "string" && Date.parse(c.attributes.expires) < Date.now());
      if (expired || c.value === "") this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
    return res;
  }

  header(): Record<string, string> {
    if (this.cookies.size === 0) return {};
    return { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ") };
  }
}

/** The value of the hidden input `name` in the page's first form that has one. */
export function hidden(body: string, name: string): string {
  const m = new RegExp(`<input type="hidden" name="${name}" value="([^"]*)">`).exec(body);
  if (!m) throw new Error(`no hidden ${name} in the page`);
  return m[1]!.replace(/&amp;/g, "&").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">");
}

export type AuthorizeFixture = TestApp & {
  clientId: string;
  clientSecret: string;
  firstPartyId: string;
  userId: string;
  jar: CookieJar;
  /** GET /authorize with the usual valid request, `params` added or replacing (undefined removes one) */
  authorize(params?: Record<string, string | string[] | undefined>, jar?: CookieJar): Promise<LightMyRequestResponse>;
  /** POST a page's form to `path`, its interaction and CSRF token taken from `page`, `fields` added */
  post(path: string, page: LightMyRequestResponse, fields?: Record<string, string>, jar?: CookieJar): Promise<LightMyRequestResponse>;
  /** Signs in on the sign-in page `page` */
  signIn(page: LightMyRequestResponse, username?: string, password?: string, jar?: CookieJar): Promise<LightMyRequestResponse>;
};

export function authorizeQuery(clientId: string, params: Record<string, string | string[] | undefined> = {}): string {
  const all: Record<string, string | string[] | undefined> = {
    response_type: "code",
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    state: "xyz",
    scope: "read",
    code_challenge: CHALLENGE,
    code_challenge_method: "S256",
    ...params,
  };
  const defined = Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as Record<string, string | string[]>;
  return form(defined);
}

/** A client of the code flow (authorization_code, REDIRECT_URI unless given). */
export async function codeClient(base: TestApp, input: Partial<ClientInput>): Promise<string> {
  return (await base.createClient({ grantTypes: ["authorization_code"], redirectUris: [REDIRECT_URI], ...input })).clientId;
}

export async function authorizeFixture(t: Test, env: Record<string, string> = {}, client: Partial<ClientInput> = {}): Promise<AuthorizeFixture> {
  const base = await buildTestApp(t, env);
  const { clientId, clientSecret } = await base.createClient({ name: "Photo Printer", grantTypes: ["authorization_code", "refresh_token"], redirectUris: [REDIRECT_URI], ...client });
  const firstPartyId = await codeClient(base, { name: "Our Own App", grantTypes: ["authorization_code"], redirectUris: [REDIRECT_URI], firstParty: true });
  const user = await base.app.services.users.create(USERNAME, PASSWORD);
  const jar = new CookieJar();
  const fixture: AuthorizeFixture = {
    ...base,
    clientId,
    clientSecret,
    firstPartyId,
    userId: user.id,
    jar,
    async authorize(params = {}, j = jar) {
      return j.take(await base.app.inject({ method: "GET", url: `/authorize?${authorizeQuery(clientId, params)}`, headers: j.header() }));
    },
    async post(path, page, fields = {}, j = jar) {
      const payload = form({ interaction: hidden(page.body, "interaction"), csrf_token: hidden(page.body, "csrf_token"), ...fields });
      return j.take(await base.app.inject({ method: "POST", url: path, payload, headers: { "content-type": "application/x-www-form-urlencoded", ...j.header() } }));
    },
    signIn(page, username = USERNAME, password = PASSWORD, j = jar) {
      return fixture.post("/authorize/sign-in", page, { username, password }, j);
    },
  };
  return fixture;
}

/** The query parameters of a redirect's Location. */
export function locationParams(res: LightMyRequestResponse): Record<string, string> {
  const location = res.headers.location;
  if (typeof location !== "string") throw new Error(`no Location (status ${res.statusCode})`);
  return Object.fromEntries(new URL(location).searchParams);
}
