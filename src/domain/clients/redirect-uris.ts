// Redirect URIs of the authorization code flow: which may be registered (OAuth 2.1 §2.3.1, RFC 8252
// §7.1-7.3, RFC 9700 §2.1) and whether a requested one matches a registered one.
//
// Registrable: an absolute URI without fragment, and either https, http on a loopback address (a native
// app's local listener, RFC 8252 §7.3; "localhost" too, which §8.3 discourages but clients use), or a
// private-use scheme in reverse-domain form (com.example.app:/cb, RFC 8252 §7.1). Never javascript:,
// data: and the like, which a browser would run instead of navigating.

// C0 controls, DEL and whitespace: never part of a URI we send a browser to, and PostgreSQL refuses U+0000.
const CONTROL_OR_SPACE = /[\u0000-\u0020\u007f\s]/;

// RFC 8252 §7.1: "a scheme based on a domain name under their control, expressed in reverse order":
// at least one dot, so that a bare "myapp:" (or "javascript:", "data:", "file:") is not one.
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+$/;

/** Schemes a browser handles itself: never a private-use scheme, whatever their shape. */
const BROWSER_SCHEMES = new Set(["javascript", "data", "file", "blob", "about", "vbscript", "ws", "wss", "ftp"]);

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "[::1]", "localhost"]);

export const MAX_REDIRECT_URI_LENGTH = 2000;

/** null when `uri` may be registered; otherwise why not. */
export function validateRedirectUri(uri: string): string | null {
  if (uri.length === 0 || uri.length > MAX_REDIRECT_URI_LENGTH) return `must be 1 to ${MAX_REDIRECT_URI_LENGTH} characters`;
  if (CONTROL_OR_SPACE.test(uri)) return "must not contain spaces or control characters";
  if (uri.includes("#")) return "must not contain a fragment (#)";
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return "must be an absolute URI";
  }
  const scheme = url.protocol.slice(0, -1);
  // No host to check: the URL parser refuses an https URL without one (a special scheme needs a host).
  if (scheme === "https") return null;
  if (scheme === "http") {
    return LOOPBACK_HOSTS.has(url.hostname) ? null : "http is allowed only on a loopback address (127.0.0.1, [::1] or localhost); use https";
  }
  if (BROWSER_SCHEMES.has(scheme) || !PRIVATE_USE_SCHEME.test(scheme)) {
    return "must use https, http on a loopback address, or a private-use scheme in reverse-domain form (com.example.app:/callback)";
  }
  return null;
}

// http on a loopback IP literal, with an optional port: the port is what RFC 8252 §7.3 lets vary.
// On the exact text (no URL normalisation), so only the port may differ between two matching URIs.
const LOOPBACK_IP_URI = /^http:\/\/(127\.0\.0\.1|\[::1\])(?::\d{1,5})?(?=[/?]|$)/;

/** `uri` with its port removed, when it is http on a loopback IP literal; null otherwise. */
const withoutLoopbackPort = (uri: string): string | null =>
  LOOPBACK_IP_URI.test(uri) ? uri.replace(LOOPBACK_IP_URI, "http://$1") : null;

/**
 * Whether `requested` is one of `registered`: an exact string comparison (RFC 9700 §4.1.3), except that
 * for http on 127.0.0.1 or [::1] the port is ignored (RFC 8252 §7.3).
 */
export function matchRedirectUri(registered: readonly string[], requested: string): boolean {
  if (registered.includes(requested)) return true;
  const loose = withoutLoopbackPort(requested);
  return loose !== null && registered.some((r) => withoutLoopbackPort(r) === loose);
}
