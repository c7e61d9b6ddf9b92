// /authorize: the authorization endpoint (RFC 6749 §4.1, RFC 7636, OAuth 2.1) and the pages it answers
// with: sign-in, consent, error. GET takes the request in the query, POST in a form body; the pages'
// forms post to /authorize/sign-in, /authorize/consent and /authorize/switch-account with the request
// sealed in a hidden field (domain/authorization/interaction.ts) and a CSRF token bound to the
// browser's tessera_csrf cookie. A redirect answers 302 to a GET and 303 to a form post.
// Registered in its own context: the cookie plugin and the HTML error handler apply here only.
import cookie from "@fastify/cookie";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { AUTHORIZATION_PARAMETERS, type RawParams } from "../../domain/authorization/authorization-request.js";
import { allow, clientOf, deny, nextStep, type AuthorizeDeps, type Step } from "../../domain/authorization/authorize.js";
import type { SignedInSession } from "../../domain/authorization/browser-session.js";
import { InteractionRefused, type Interaction } from "../../domain/authorization/interaction.js";
import { errorRedirect } from "../../domain/authorization/redirect.js";
import { checkClient, checkRedirectUri, checkRequest } from "../../domain/authorization/request-checks.js";
import { InvalidGrant, OAuthError, SlowDown } from "../../errors/oauth.js";
import { browserCookies, csrfBinding } from "../browser-cookies.js";
import { parseForm } from "../form.js";
import { consentPage } from "../pages/consent.js";
import { errorPage } from "../pages/error.js";
import { pageHeaders, redirectHeaders } from "../pages/headers.js";
import type { Html } from "../pages/html.js";
import { brandOf, STYLESHEET_PATH } from "../pages/layout.js";
import { signInPage } from "../pages/sign-in.js";
import { STYLESHEET } from "../pages/style.js";
import { requireForm } from "../plugins/content-type.js";
import { limitPerMinute } from "../plugins/rate-limits.js";
import { OAuthErrorBody } from "../schemas/oauth.js";

// Each parameter a string, or several when repeated: the checks refuse repeats with their own error
// (a page or a redirect), so the schema must let them through. Unknown parameters are ignored.
const Params = Type.Object(
  Object.fromEntries(AUTHORIZATION_PARAMETERS.map((name) => [name, Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())]))])),
  { additionalProperties: true, description: "The authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 8707, OpenID Connect Core §3.1.2.1, RFC 9449 §10), or client_id and the request_uri of a pushed one (RFC 9126 §4)" },
);
const FormFields = { interaction: Type.String(), csrf_token: Type.String() };
const SignInForm = Type.Object({ ...FormFields, username: Type.String(), password: Type.String() }, { additionalProperties: false });
const ConsentForm = Type.Object({ ...FormFields, decision: Type.Union([Type.Literal("allow"), Type.Literal("deny")]) }, { additionalProperties: false });
const SwitchForm = Type.Object(FormFields, { additionalProperties: false });

const REDIRECT = Type.Null({ description: "to the client's redirect URI with code, state and iss, or error, error_description, state and iss" });
const PAGE_RESPONSES = {
  200: Type.String({ description: "the sign-in or consent page" }),
  400: Type.String({ description: "an error page: unknown client, unregistered redirect URI, or a form that does not hold" }),
  429: Type.String({ description: "too many sign-in attempts (Retry-After)" }),
  // Not pages: this context's error handler passes 5xx failures on to the app's, which answers
  // JSON (server_error, or temporarily_unavailable while the database is away).
  "5xx": OAuthErrorBody,
};

const authorize: FastifyPluginAsyncTypebox = async (app) => {
  await app.register(cookie);
  const services = app.services;
  const { config } = services;
  const cookies = browserCookies(config.issuer);
  const { session: sessionCookie, csrf: csrfCookie, options: cookieOptions } = cookies;
  const brand = brandOf(config);
  const deps: AuthorizeDeps = {
    issuer: config.issuer,
    clock: services.clock,
    clients: services.clients,
    grants: services.grants,
    codes: { authorizationCodes: services.authorizationCodes, clock: services.clock },
  };

  const sendPage = (reply: FastifyReply, status: number, page: Html, redirectUri?: string) =>
    reply.code(status).headers(pageHeaders(brand, redirectUri)).send(page.text);

  const sendError = (reply: FastifyReply, status: number, message: string) => sendPage(reply, status, errorPage(brand, "This request cannot be completed", message));

  const redirect = (reply: FastifyReply, status: 302 | 303, location: string) =>
    reply.code(status).headers(redirectHeaders(location)).send(null);

  /** The interaction of a form post, if its seal and CSRF token hold (else InteractionRefused, a 400 page). */
  function formInteraction(request: FastifyRequest<{ Body: { interaction: string; csrf_token: string } }>): Interaction {
    const interaction = services.interactions.open(request.body.interaction);
    services.interactions.checkCsrf(interaction, request.cookies[csrfCookie], request.body.csrf_token);
    return interaction;
  }

  const currentSession = (request: FastifyRequest) => services.browserSessions.resume(request.cookies[sessionCookie]);

  function showSignIn(request: FastifyRequest, reply: FastifyReply, interaction: Interaction, status = 200, error?: string, username?: string) {
    const { userId: _shownTo, ...fresh } = interaction;
    const client = clientOf(deps, fresh);
    const page = signInPage({
      brand,
      clientName: client.name,
      interaction: services.interactions.seal(fresh),
      csrfToken: services.interactions.csrfToken(fresh, csrfBinding(request, reply, cookies)),
      username: username ?? interaction.request.loginHint,
      ...(error !== undefined && { error }),
    });
    return sendPage(reply, status, page, interaction.request.redirectUri);
  }

  /** Answers a step: a page, or the redirect to the client (302 after a GET, 303 after a form post). */
  function answer(request: FastifyRequest, reply: FastifyReply, interaction: Interaction, step: Step) {
    const status = request.method === "GET" ? 302 : 303;
    if (step.step === "redirect") return redirect(reply, status, step.location);
    if (step.step === "sign-in") return showSignIn(request, reply, interaction);
    const shown = { ...interaction, userId: step.user.id };
    const page = consentPage({
      brand,
      clientName: step.client.name,
      clientId: step.client.id,
      scope: interaction.request.scope,
      audience: interaction.request.audience,
      username: step.user.username,
      interaction: services.interactions.seal(shown),
      csrfToken: services.interactions.csrfToken(shown, csrfBinding(request, reply, cookies)),
    });
    return sendPage(reply, 200, page, interaction.request.redirectUri);
  }

  /** Runs `next`; an OAuth error from it goes to the client's redirect URI (the request's was verified). */
  async function proceed(request: FastifyRequest, reply: FastifyReply, interaction: Interaction, next: () => Promise<Step> | Step) {
    let step: Step;
    try {
      step = await next();
    } catch (e) {
      if (!(e instanceof OAuthError) || e instanceof SlowDown || e.status >= 500) throw e;
      step = { step: "redirect", location: errorRedirect(config.issuer, interaction.request.redirectUri, interaction.request.state, e) };
    }
    return answer(request, reply, interaction, step);
  }

  /**
   * A new authorization request: the client and redirect URI first (errors: a page), then the rest.
   * With a request_uri, the client's pushed request (RFC 9126 §4) replaces every other parameter.
   */
  async function start(request: FastifyRequest, reply: FastifyReply, sent: RawParams) {
    let params = sent;
    let client;
    let target;
    try {
      client = checkClient(params, (id) => services.clients.get(id));
      if (sent.request_uri !== undefined) params = await services.pushedRequests.use(client, sent.request_uri);
      target = checkRedirectUri(params, client);
    } catch (e) {
      if (e instanceof OAuthError && e.status < 500) return sendError(reply, 400, e.description ?? e.code);
      throw e;
    }
    const state = typeof params.state === "string" ? params.state : undefined;
    let checked;
    try {
      if (sent.request_uri === undefined) services.pushedRequests.checkNotRequired(client);
      checked = checkRequest(params, client, target);
    } catch (e) {
      if (!(e instanceof OAuthError) || e.status >= 500) throw e;
      return redirect(reply, request.method === "GET" ? 302 : 303, errorRedirect(config.issuer, target.redirectUri, state, e));
    }
    const interaction = services.interactions.begin(checked);
    // With the user's grant to this client: on a redirect straight away, the only query before the code's insert.
    const session = await services.browserSessions.resumeWithGrant(request.cookies[sessionCookie], client.id);
    return proceed(request, reply, interaction, () => nextStep(deps, interaction, session));
  }

  // This context's errors are pages, not JSON: a browser shows them to a person.
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error instanceof InteractionRefused) return sendError(reply, 400, error.message);
    if (error instanceof SlowDown) {
      reply.header("retry-after", String(error.retryAfterSeconds));
      return sendError(reply, 429, `Too many attempts. Wait ${error.retryAfterSeconds} seconds, then try again.`);
    }
    if (error.validation) return sendError(reply, 400, "The form was incomplete or malformed; start again from the application.");
    if (error instanceof OAuthError && error.status < 500) return sendError(reply, 400, error.description ?? error.code);
    throw error; // the app's error handler logs it and answers server_error
  });

  app.get(
    "/authorize",
    { schema: { summary: "Authorization endpoint (RFC 6749 §4.1, PKCE S256 required)", querystring: Params, response: { 302: REDIRECT, ...PAGE_RESPONSES } } },
    // The query is parsed again as OAuth reads parameters (form.ts): an empty one is omitted, a repeated one stays an array.
    async (request, reply) => start(request, reply, parseForm(request.url.slice(request.url.indexOf("?") + 1 || request.url.length))),
  );

  app.post(
    "/authorize",
    { preValidation: requireForm, schema: { summary: "Authorization endpoint with the request in a form body", body: Params, response: { 303: REDIRECT, ...PAGE_RESPONSES } } },
    async (request, reply) => start(request, reply, request.body),
  );

  app.post(
    "/authorize/sign-in",
    {
      config: { ...limitPerMinute(config.rateLimitLogin) },
      preValidation: requireForm,
      schema: {
        summary: "The sign-in page's form: username and password",
        body: SignInForm,
        response: { 303: REDIRECT, ...PAGE_RESPONSES, 401: Type.String({ description: "the sign-in page again: wrong username or password" }) },
      },
    },
    async (request, reply) => {
      const interaction = formInteraction(request);
      const { username, password } = request.body;
      let user;
      try {
        user = await services.users.authenticate(username, password);
      } catch (e) {
        if (e instanceof InvalidGrant) return showSignIn(request, reply, interaction, 401, "Wrong username or password.", username);
        if (!(e instanceof SlowDown)) throw e;
        reply.header("retry-after", String(e.retryAfterSeconds));
        return showSignIn(request, reply, interaction, 429, `Too many failed attempts. Wait ${e.retryAfterSeconds} seconds, then try again.`, username);
      }
      // A new session for every sign-in (no session fixation); the one the browser had ends.
      await services.browserSessions.endByCookie(request.cookies[sessionCookie]);
      const { cookie: value, session } = await services.browserSessions.start(user);
      reply.setCookie(sessionCookie, value, { ...cookieOptions, maxAge: config.sessionTtlSeconds });
      return proceed(request, reply, interaction, () => nextStep(deps, interaction, session, true));
    },
  );

  app.post(
    "/authorize/consent",
    { preValidation: requireForm, schema: { summary: "The consent page's form: decision=allow or deny", body: ConsentForm, response: { 303: REDIRECT, ...PAGE_RESPONSES } } },
    async (request, reply) => {
      const interaction = formInteraction(request);
      const session: SignedInSession | null = await currentSession(request);
      // Signed out, or someone else signed in since the page was shown: ask again from the start.
      if (!session || session.userId !== interaction.userId) {
        const { userId: _shownTo, ...fresh } = interaction;
        return proceed(request, reply, fresh, () => nextStep(deps, fresh, session));
      }
      if (request.body.decision === "deny") return answer(request, reply, interaction, deny(deps, interaction));
      return proceed(request, reply, interaction, () => allow(deps, interaction, session));
    },
  );

  app.post(
    "/authorize/switch-account",
    { preValidation: requireForm, schema: { summary: "Sign in as someone else: ends the browser session and shows the sign-in page", body: SwitchForm, response: PAGE_RESPONSES } },
    async (request, reply) => {
      const interaction = formInteraction(request);
      await services.browserSessions.endByCookie(request.cookies[sessionCookie]);
      reply.clearCookie(sessionCookie, cookieOptions);
      return showSignIn(request, reply, interaction);
    },
  );

  app.get(
    STYLESHEET_PATH,
    { schema: { summary: "The stylesheet of the sign-in, consent and error pages", response: { 200: Type.String({ description: "text/css" }) } } },
    async (_request, reply) => reply.header("cache-control", "public, max-age=3600").type("text/css; charset=utf-8").send(STYLESHEET),
  );
};

export default authorize;
