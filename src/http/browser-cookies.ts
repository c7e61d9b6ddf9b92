// The browser cookies of tessera's own pages (/authorize, /end-session): the session and the CSRF
// binding. RFC 6265bis §4.1.3.2: under an https issuer they are __Host- cookies (Secure, Path=/, no
// Domain), so no subdomain can set them.
import type { FastifyReply, FastifyRequest } from "fastify";
import { randomToken } from "../crypto/secrets.js";

export type BrowserCookies = {
  session: string;
  csrf: string;
  options: { path: "/"; httpOnly: true; sameSite: "lax"; secure: boolean };
};

export function browserCookies(issuer: string): BrowserCookies {
  const https = issuer.startsWith("https:");
  return {
    session: https ? "__Host-tessera_session" : "tessera_session",
    csrf: https ? "__Host-tessera_csrf" : "tessera_csrf",
    options: { path: "/", httpOnly: true, sameSite: "lax", secure: https },
  };
}

/** The browser's CSRF binding: its CSRF cookie, set now when it has none. */
export function csrfBinding(request: FastifyRequest, reply: FastifyReply, cookies: BrowserCookies): string {
  const present = request.cookies[cookies.csrf];
  if (present) return present;
  const fresh = randomToken(32);
  reply.setCookie(cookies.csrf, fresh, cookies.options);
  return fresh;
}
