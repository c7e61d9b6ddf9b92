// Security headers for a JSON API, the set OWASP's REST Security Cheat Sheet names for API responses:
// nothing here is meant to render, frame or run in a page, so the content security policy forbids
// everything and framing is denied twice (CSP for current browsers, X-Frame-Options for old ones);
// HSTS only for an https issuer (RFC 6797 §7.2). Cache-Control and Content-Type are set per route.
// The headers that only matter for HTML pages (helmet's referrer, DNS-prefetch, download and
// cross-origin policies) are left out: each header is work on every answer, and the JWKS route is
// answered tens of thousands of times a second.

/**
 * The headers every answer carries: set by the request-start hook, and by error-handler.ts on the
 * answers that no hook sees (requests Fastify's router or Node's parser refuses).
 */
export const securityHeaders = (https: boolean): Record<string, string> => ({
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  ...(https && { "strict-transport-security": "max-age=31536000; includeSubDomains" }),
});
