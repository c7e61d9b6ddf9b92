// The browser cookies of tessera's own pages (/authorize, /end-session): the session and the CSRF
// binding. RFC 6265bis §4.1.3.2: under an https issuer they are __Host- cookies (Secure, Path=/, no
// Domain), so no subdomain can set them.
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
