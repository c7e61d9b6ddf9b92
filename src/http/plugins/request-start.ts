// The one global onRequest hook: what every request needs before its route runs, in the order it
// needs it. As separate plugins' hooks the order was left to registration, and the Host check ran
// before the security headers were set, so its 400 went out without them.
import fp from "fastify-plugin";
import { InvalidRequest } from "../../errors/oauth.js";
import { securityHeaders } from "../security-headers.js";

export default fp<{ https: boolean }>(
  async (app, { https }) => {
    const headers = securityHeaders(https);
    const timed = app.metrics !== null;
    app.addHook("onRequest", (request, reply, done) => {
      // First, so the duration histogram (metrics.ts) includes every later hook.
      if (timed) request.receivedAt = performance.now();
      // Before anything can fail, so error answers carry them too.
      reply.headers(headers);
      // RFC 9112 §3.2: an HTTP/1.1 request without Host is malformed.
      if (request.raw.httpVersion === "1.1" && request.headers.host === undefined) return done(new InvalidRequest("missing Host header"));
      done();
    });
  },
  { name: "request-start" },
);
