// /end-session: RP-initiated logout (OpenID RP-Initiated Logout 1.0), the metadata's
// end_session_endpoint. GET takes the request in the query, POST in a form body (§2). A valid
// id_token_hint naming this browser's session signs the user out at once; otherwise the user is asked
// on a confirmation page whose form posts to /end-session/confirm (sealed, with a CSRF token). Then
// the browser goes to the registered post_logout_redirect_uri with `state` (302 after a GET, 303
// after a form post), or sees the signed-out page. A request that does not hold is a 400 page, never
// a redirect (§3). Registered in its own context: the cookie plugin and the HTML error handler.
import cookie from "@fastify/cookie";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";
import type { RawParams } from "../../domain/authorization/authorization-request.js";
import type { BrowserSession } from "../../domain/authorization/browser-session.js";
import { checkEndSessionRequest, LogoutRefused, type EndSessionDeps } from "../../domain/authorization/end-session-request.js";
import { ConfirmationRefused } from "../../domain/authorization/logout-confirmation.js";
import { redirectUrl } from "../../domain/authorization/redirect.js";
import { OAuthError } from "../../errors/oauth.js";
import { browserCookies, csrfBinding } from "../browser-cookies.js";
import { parseForm } from "../form.js";
import { errorPage } from "../pages/error.js";
import { pageHeaders, redirectHeaders } from "../pages/headers.js";
import type { Html } from "../pages/html.js";
import { brandOf } from "../pages/layout.js";
import { loggedOutPage } from "../pages/logged-out.js";
import { logoutConfirmPage } from "../pages/logout-confirm.js";
import { requireForm } from "../plugins/content-type.js";
import { OAuthErrorBody } from "../schemas/oauth.js";
import { END_SESSION_PATH } from "./metadata.js";

// Repeats pass the schema so that the checks refuse them with their own page; unknown ones are ignored.
const PARAMETERS = ["id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales", "logout_hint"];
const Params = Type.Object(
  Object.fromEntries(PARAMETERS.map((name) => [name, Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())]))])),
  { additionalProperties: true, description: "The logout request (OpenID RP-Initiated Logout 1.0 §2)" },
);
const ConfirmForm = Type.Object({ confirmation: Type.String(), csrf_token: Type.String() }, { additionalProperties: false });

const REDIRECT = Type.Null({ description: "to the registered post_logout_redirect_uri, with state when one was sent" });
const PAGE_RESPONSES = {
  200: Type.String({ description: "the confirmation page, or the signed-out page" }),
  400: Type.String({ description: "an error page: a forged id_token_hint, an unknown client, an unregistered post_logout_redirect_uri, a form that does not hold" }),
  // Not pages: this context's error handler passes 5xx failures on to the app's, which answers
  // JSON (server_error, or temporarily_unavailable while the database is away).
  "5xx": OAuthErrorBody,
};

/** Where to go once signed out: the registered URI (null: the signed-out page), and the client's state. */
type Destination = { postLogoutRedirectUri: string | null; state: string | null | undefined };

const endSession: FastifyPluginAsyncTypebox = async (app) => {
  await app.register(cookie);
  const services = app.services;
  const { config } = services;
  const cookies = browserCookies(config.issuer);
  const { session: sessionCookie, csrf: csrfCookie, options: cookieOptions } = cookies;
  const brand = brandOf(config);
  const deps: EndSessionDeps = {
    issuer: config.issuer,
    clock: services.clock,
    keys: services.keys,
    clients: services.clients,
    hintToleranceSeconds: config.sessionTtlSeconds + config.clockSkewSeconds,
  };

  const sendPage = (reply: FastifyReply, status: number, page: Html, redirectUri?: string) =>
    reply.code(status).headers(pageHeaders(brand, redirectUri)).send(page.text);

  const sendError = (reply: FastifyReply, message: string) => sendPage(reply, 400, errorPage(brand, "This sign-out request cannot be completed", message));

  /** The redirect, or the signed-out page. */
  function finish(request: FastifyRequest, reply: FastifyReply, to: Destination) {
    if (to.postLogoutRedirectUri === null) return sendPage(reply, 200, loggedOutPage(brand));
    const location = redirectUrl(to.postLogoutRedirectUri, { state: to.state ?? undefined });
    return reply
      .code(request.method === "GET" ? 302 : 303)
      .headers(redirectHeaders(location))
      .send(null);
  }

  async function signOut(request: FastifyRequest, reply: FastifyReply, session: BrowserSession | null, clientId: string | null, confirmed: boolean) {
    if (session) await services.logout.endSession(session, clientId, confirmed);
    if (request.cookies[sessionCookie] !== undefined) reply.clearCookie(sessionCookie, cookieOptions);
  }

  async function start(request: FastifyRequest, reply: FastifyReply, params: RawParams) {
    const checked = await checkEndSessionRequest(deps, params);
    const session = await services.browserSessions.resume(request.cookies[sessionCookie]);
    const clientId = checked.client?.id ?? null;
    const { hint } = checked;
    // Trusted: the hint is ours and names this very session (or, without sid, its user). Nobody
    // signed in: there is nothing to end and nothing to ask.
    const trusted = hint !== null && session !== null && hint.sub === session.userId && (hint.sid === null || hint.sid === session.id);
    if (session === null || trusted) {
      await signOut(request, reply, session, clientId, false);
      return finish(request, reply, checked);
    }
    const confirmation = services.logoutConfirmations.begin({ clientId, postLogoutRedirectUri: checked.postLogoutRedirectUri, state: checked.state ?? null });
    const user = await services.users.show(session.userId);
    const page = logoutConfirmPage({
      brand,
      clientName: checked.client?.name ?? null,
      username: user.username,
      confirmation: services.logoutConfirmations.seal(confirmation),
      csrfToken: services.logoutConfirmations.csrfToken(confirmation, csrfBinding(request, reply, cookies)),
    });
    // The form's 303 goes to the post_logout_redirect_uri: form-action must allow it (headers.ts).
    return sendPage(reply, 200, page, checked.postLogoutRedirectUri ?? undefined);
  }

  // This context's errors are pages, not JSON: a browser shows them to a person.
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error instanceof LogoutRefused || error instanceof ConfirmationRefused) return sendError(reply, error.message);
    if (error.validation) return sendError(reply, "The request was malformed; go back to the application and sign out again.");
    if (error instanceof OAuthError && error.status < 500) return sendError(reply, error.description ?? error.code);
    throw error; // the app's error handler logs it and answers server_error
  });

  app.get(
    END_SESSION_PATH,
    { schema: { summary: "End-session endpoint (OpenID RP-Initiated Logout 1.0)", querystring: Params, response: { 302: REDIRECT, ...PAGE_RESPONSES } } },
    // The query is parsed again as OAuth reads parameters (form.ts): an empty one is omitted, a repeated one stays an array.
    async (request, reply) => start(request, reply, parseForm(request.url.slice(request.url.indexOf("?") + 1 || request.url.length))),
  );

  app.post(
    END_SESSION_PATH,
    { preValidation: requireForm, schema: { summary: "End-session endpoint with the request in a form body", body: Params, response: { 303: REDIRECT, ...PAGE_RESPONSES } } },
    async (request, reply) => start(request, reply, request.body),
  );

  app.post(
    `${END_SESSION_PATH}/confirm`,
    { preValidation: requireForm, schema: { summary: "The logout confirmation page's form", body: ConfirmForm, response: { 303: REDIRECT, ...PAGE_RESPONSES } } },
    async (request, reply) => {
      const confirmation = services.logoutConfirmations.open(request.body.confirmation, request.cookies[csrfCookie], request.body.csrf_token);
      const session = await services.browserSessions.resume(request.cookies[sessionCookie]);
      await signOut(request, reply, session, confirmation.clientId, true);
      // Still registered? The client may have changed its URIs (or gone) while the page was open.
      const client = confirmation.clientId === null ? undefined : services.clients.get(confirmation.clientId);
      const uri = confirmation.postLogoutRedirectUri;
      const stillRegistered = uri !== null && client?.enabled === true && client.postLogoutRedirectUris.includes(uri);
      return finish(request, reply, { postLogoutRedirectUri: stillRegistered ? uri : null, state: confirmation.state });
    },
  );
};

export default endSession;
