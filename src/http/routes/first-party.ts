// POST /login, /refresh, /logout: the first-party browser flow (see domain/first-party.ts).
// Registered in its own context so the cookie plugin's hooks run on these routes only.
import cookie from "@fastify/cookie";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { login, logout, refresh } from "../../domain/first-party.js";
import { InvalidRequest } from "../../errors/oauth.js";
import { optionalJsonOrForm, requireJson } from "../plugins/content-type.js";
import { noStore } from "../plugins/no-store.js";
import { limitPerMinute } from "../plugins/rate-limits.js";
import { clearRefreshCookie, presentedRefreshToken, setRefreshCookie } from "../plugins/refresh-cookie.js";
import { ERROR_RESPONSES, LoginRequest, LogoutResponse, RefreshBody, TokenResponse } from "../schemas/oauth.js";

const firstParty: FastifyPluginAsyncTypebox = async (app) => {
  await app.register(cookie);
  const { config } = app.services;
  const cookieSettings = { secure: config.issuer.startsWith("https:"), maxAgeSeconds: config.refreshTokenTtlSeconds };
  const tokenSchema = { response: { 200: TokenResponse, ...ERROR_RESPONSES } };

  app.post("/login", { config: { ...limitPerMinute(config.rateLimitLogin) }, onRequest: noStore, preValidation: requireJson, schema: { body: LoginRequest, ...tokenSchema } }, async (request, reply) => {
    const tokens = await login(app.services, request.body);
    if (tokens.refresh_token) setRefreshCookie(reply, tokens.refresh_token, cookieSettings);
    return tokens;
  });

  app.post("/refresh", { config: { ...limitPerMinute(config.rateLimitRefresh) }, onRequest: noStore, preValidation: optionalJsonOrForm, schema: { body: RefreshBody, ...tokenSchema } }, async (request, reply) => {
    const presented = presentedRefreshToken(request);
    if (presented === undefined) throw new InvalidRequest("no refresh token in the cookie or the body");
    const tokens = await refresh(app.services, presented);
    setRefreshCookie(reply, tokens.refresh_token!, cookieSettings);
    return tokens;
  });

  app.post("/logout", { config: { ...limitPerMinute(config.rateLimitRefresh) }, onRequest: noStore, preValidation: optionalJsonOrForm, schema: { body: RefreshBody, response: { 200: LogoutResponse, ...ERROR_RESPONSES } } }, async (request, reply) => {
    await logout(app.services, presentedRefreshToken(request));
    clearRefreshCookie(reply, cookieSettings);
    return {};
  });
};

export default firstParty;
