// Security headers for a JSON API (@fastify/helmet): nothing here is meant to render, frame or run
// in a page, so the content security policy forbids everything. HSTS only for an https issuer.
import helmet from "@fastify/helmet";
import fp from "fastify-plugin";

export default fp<{ https: boolean }>(
  async (app, { https }) => {
    await app.register(helmet, {
      contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      strictTransportSecurity: https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
      crossOriginEmbedderPolicy: false, // about documents embedding others; a JSON API embeds nothing
      frameguard: { action: "deny" }, // agrees with frame-ancestors 'none'
    });
  },
  { name: "security-headers" },
);
