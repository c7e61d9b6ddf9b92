// Headers of every page: a CSP that allows the page's own stylesheet and form and nothing else (no
// script at all), no framing (CSP and X-Frame-Options, against clickjacking of the consent page), no
// caching, no Referer leaving the page (the URL holds the authorization request).
import type { Brand } from "./layout.js";

/**
 * The CSP source of a URL: its origin, or its scheme for a private-use scheme (RFC 8252 §7.1). An
 * IPv6 literal cannot be written as a CSP host, so http://[::1] is allowed as `http:`.
 */
export function cspSource(uri: string): string {
  const url = new URL(uri);
  if (url.protocol !== "http:" && url.protocol !== "https:") return url.protocol;
  if (url.hostname.startsWith("[")) return url.protocol;
  return url.origin;
}

/** 'self' and, for an absolute URL, its origin. */
const selfAnd = (uri: string | undefined): string => (uri !== undefined && !uri.startsWith("/") ? `'self' ${cspSource(uri)}` : "'self'");

/**
 * `redirectUri`: where a form post of this page may be answered with a 303. Chromium applies
 * form-action to the redirects that follow a form submission, so the client's (verified) redirect
 * URI must be allowed too, as node-oidc-provider does.
 */
/** A redirect away from the pages (to the client): its URL holds a code or state, so nothing keeps or leaks it. */
export const redirectHeaders = (location: string): Record<string, string> => ({
  location,
  "cache-control": "no-store",
  pragma: "no-cache",
  "referrer-policy": "no-referrer",
});

export function pageHeaders(brand: Brand, redirectUri?: string): Record<string, string> {
  const formAction = redirectUri === undefined ? "'self'" : `'self' ${cspSource(redirectUri)}`;
  return {
    "content-security-policy": `default-src 'none'; style-src ${selfAnd(brand.stylesheetUrl)}; img-src ${selfAnd(brand.logoUrl)}; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
    "x-frame-options": "DENY",
    "cache-control": "no-store",
    pragma: "no-cache",
    "referrer-policy": "no-referrer",
    "content-type": "text/html; charset=utf-8",
  };
}
