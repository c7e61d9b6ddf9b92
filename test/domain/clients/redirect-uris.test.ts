// Which redirect URIs may be registered (RFC 8252 §7.1-7.3, OAuth 2.1 §2.3.1) and how a requested one
// matches: exactly, except the port of http on a loopback IP literal (RFC 8252 §7.3).
import t from "tap";
import { matchRedirectUri, validateRedirectUri } from "../../../src/domain/clients/redirect-uris.js";

t.test("registrable: https, loopback http, private-use schemes in reverse-domain form", async (t) => {
  for (const uri of [
    "https://app.example.com/callback",
    "https://app.example.com:8443/cb?tenant=a",
    "http://127.0.0.1/callback",
    "http://127.0.0.1:8080/callback",
    "http://[::1]:49152/cb",
    "http://localhost:3000/callback",
    "com.example.app:/oauth2redirect",
    "com.example.app:/",
    "org.example.my-app://callback",
  ]) {
    t.equal(validateRedirectUri(uri), null, uri);
  }
});

t.test("refused, each with the reason", async (t) => {
  const cases: [string, string][] = [
    ["", "must be 1 to 2000 characters"],
    [`https://a.example/${"x".repeat(2000)}`, "must be 1 to 2000 characters"],
    ["https://app.example.com/cb#frag", "must not contain a fragment (#)"],
    ["https://app.example.com/c b", "must not contain spaces or control characters"],
    ["https://app.example.com/\u0000", "must not contain spaces or control characters"],
    ["/callback", "must be an absolute URI"],
    ["app.example.com/callback", "must be an absolute URI"],
    // https without a host: the URL parser refuses it, so it never passes as a hostless https URI.
    ["https://", "must be an absolute URI"],
    ["https://:443/callback", "must be an absolute URI"],
    ["https://@/callback", "must be an absolute URI"],
    ["http://app.example.com/callback", "http is allowed only on a loopback address (127.0.0.1, [::1] or localhost); use https"],
    ["http://127.0.0.2/callback", "http is allowed only on a loopback address (127.0.0.1, [::1] or localhost); use https"],
    ["http://localhost.evil.example/cb", "http is allowed only on a loopback address (127.0.0.1, [::1] or localhost); use https"],
  ];
  for (const [uri, reason] of cases) t.equal(validateRedirectUri(uri), reason, JSON.stringify(uri.slice(0, 40)));
  const schemeReason = "must use https, http on a loopback address, or a private-use scheme in reverse-domain form (com.example.app:/callback)";
  for (const uri of ["javascript:alert(1)", "data:text/html,hi", "myapp:/callback", "file:///etc/passwd", "ws://127.0.0.1/", "vbscript:x"]) {
    t.equal(validateRedirectUri(uri), schemeReason, uri);
  }
});

t.test("matching is exact string comparison", async (t) => {
  const registered = ["https://app.example.com/callback", "com.example.app:/cb"];
  t.ok(matchRedirectUri(registered, "https://app.example.com/callback"));
  t.ok(matchRedirectUri(registered, "com.example.app:/cb"));
  for (const other of [
    "https://app.example.com/callback/",
    "https://app.example.com/Callback",
    "https://APP.example.com/callback",
    "https://app.example.com/callback?x=1",
    "https://app.example.com:443/callback",
    "https://app.example.com/callback#",
    "https://app.example.com/callbackx",
  ]) {
    t.notOk(matchRedirectUri(registered, other), other);
  }
});

t.test("loopback IP literals over http: any port matches, nothing else may differ (RFC 8252 §7.3)", async (t) => {
  const registered = ["http://127.0.0.1/callback", "http://[::1]:8080/cb"];
  for (const uri of ["http://127.0.0.1/callback", "http://127.0.0.1:1/callback", "http://127.0.0.1:65535/callback", "http://[::1]/cb", "http://[::1]:49152/cb"]) {
    t.ok(matchRedirectUri(registered, uri), uri);
  }
  for (const uri of [
    "http://127.0.0.1:8080/other",
    "http://127.0.0.1:8080/callback/",
    "https://127.0.0.1:8080/callback",
    "http://127.0.0.1:8080@evil.example/callback",
    "http://127.0.0.1.evil.example/callback",
    "http://localhost:8080/callback",
    "http://[::1]:8080/cb?x",
  ]) {
    t.notOk(matchRedirectUri(registered, uri), uri);
  }
  t.notOk(matchRedirectUri(["http://localhost:3000/cb"], "http://localhost:3001/cb"), "localhost is no IP literal: its port is exact");
  t.ok(matchRedirectUri(["http://localhost:3000/cb"], "http://localhost:3000/cb"));
});
