// Security headers for a JSON API: nothing here is meant to render, frame or run in a page, so the
// content security policy forbids everything; HSTS only for an https issuer. helmet computes the
// headers once at start; a synchronous hook copies them onto every reply. (@fastify/helmet rebuilds
// its middleware on every request, ~25-35 µs each, the largest cost on the JWKS route.)
import type { IncomingMessage, ServerResponse } from "node:http";
import fp from "fastify-plugin";
import helmet, { type HelmetOptions } from "helmet";

/** Runs helmet once against a recording response and returns the headers it would set. */
function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader: (name: string, value: unknown) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, () => {});
  return headers;
}

export default fp<{ https: boolean }>(
  async (app, { https }) => {
    const headers = helmetHeaders({
      contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      strictTransportSecurity: https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
      crossOriginEmbedderPolicy: false, // about documents embedding others; a JSON API embeds nothing
      frameguard: { action: "deny" }, // agrees with frame-ancestors 'none'
    });
    app.addHook("onRequest", (_request, reply, done) => {
      reply.headers(headers);
      done();
    });
  },
  { name: "security-headers" },
);
