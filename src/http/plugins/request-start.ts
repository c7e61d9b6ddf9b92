// The one global onRequest hook: what every request needs before its route runs, in the order it
// needs it. As separate plugins' hooks the order was left to registration, and the Host check ran
// before the security headers were set, so its 400 went out without them.
import fp from "fastify-plugin";
import { InvalidRequest, TemporarilyUnavailable } from "../../errors/oauth.js";
import { securityHeaders } from "../security-headers.js";

/** Seconds a client is asked to wait when this instance is closing (another one, or its successor, answers). */
const CLOSING_RETRY_AFTER = "1";

export default fp<{ https: boolean }>(
  async (app, { https }) => {
    const headers = securityHeaders(https);
    const timed = app.metrics !== null;
    // Set when app.close() begins (before the listener stops): from then on a request that reaches
    // us on a kept-alive connection is answered 503 and every answer ends its connection, so no
    // client has a request in flight on a connection the close then cuts.
    let closing = false;
    app.addHook("preClose", (done) => {
      closing = true;
      done();
    });
    app.addHook("onRequest", (request, reply, done) => {
      // First, so the duration histogram (metrics.ts) includes every later hook.
      if (timed) request.receivedAt = performance.now();
      // Before anything can fail, so error answers carry them too.
      reply.headers(headers);
      if (closing) {
        reply.header("connection", "close").header("retry-after", CLOSING_RETRY_AFTER);
        return done(new TemporarilyUnavailable("the server is shutting down; retry shortly"));
      }
      // RFC 9112 §3.2: an HTTP/1.1 request without Host is malformed.
      if (request.raw.httpVersion === "1.1" && request.headers.host === undefined) return done(new InvalidRequest("missing Host header"));
      done();
    });
    // A request received before the close began is answered in full, then its connection ends
    // (Node keeps it alive otherwise, and the client's next request would meet a closed socket).
    app.addHook("onSend", (_request, reply, payload, done) => {
      if (closing) reply.header("connection", "close");
      done(null, payload);
    });
  },
  { name: "request-start" },
);
