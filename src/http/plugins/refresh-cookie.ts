// The first-party refresh cookie: HttpOnly (no script reads it), SameSite=Strict (no cross-site
// request carries it), Secure when the issuer is https, and sent only to the two endpoints that read
// it. A cookie has one Path, so there is one cookie per endpoint, set and cleared together.
import type { FastifyReply, FastifyRequest } from "fastify";

export const REFRESH_COOKIE = "refresh_token";
const PATHS = ["/refresh", "/logout"] as const;

export type CookieSettings = { secure: boolean; maxAgeSeconds: number };

export function setRefreshCookie(reply: FastifyReply, token: string, settings: CookieSettings): void {
  for (const path of PATHS) {
    reply.setCookie(REFRESH_COOKIE, token, { path, httpOnly: true, sameSite: "strict", secure: settings.secure, maxAge: settings.maxAgeSeconds });
  }
}

export function clearRefreshCookie(reply: FastifyReply, settings: CookieSettings): void {
  for (const path of PATHS) reply.clearCookie(REFRESH_COOKIE, { path, httpOnly: true, sameSite: "strict", secure: settings.secure });
}

/** The token from the body when one is given there, else from the cookie. */
export function presentedRefreshToken(request: FastifyRequest<{ Body: { refresh_token?: string } }>): string | undefined {
  return request.body.refresh_token ?? request.cookies[REFRESH_COOKIE];
}
