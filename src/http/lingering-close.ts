// Lingering close, as nginx does it (lingering_close, lingering_time, lingering_timeout). An answer
// given before the request body was read to its end (413 over BODY_LIMIT, a 401 or 404 given before
// parsing) used to end the response at once. Node then closes a connection that will not be kept
// alive (Fastify marks every body-parsing error `Connection: close`) while the client is still
// sending, and closing a socket with unread bytes, or receiving bytes after the close, makes the
// kernel answer with a reset: the client's next write fails with EPIPE, and a client that reads only
// after writing its whole body (most do) loses the answer that was waiting in its buffer.
//
// So the answer is written at once, but the response ends only after the rest of the body has been
// read and thrown away: then the close is an orderly FIN after a fully read request. The drain is
// bounded (LINGER), so a client cannot hold a connection with an endless body: after maxBytes more
// bytes, idleMs without any, or maxMs in all, the response ends and the connection is closed
// whatever remains unread.
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";

export type LingerBounds = {
  /** Bytes read and discarded after the answer. */
  maxBytes: number;
  /** A client that has stopped sending is not waited for longer (nginx's lingering_timeout). */
  idleMs: number;
  /** The longest a connection lingers, however the client sends (nginx's lingering_time). */
  maxMs: number;
};

/** Several times any BODY_LIMIT (at most 10 MiB); nginx's defaults for the times. */
export const LINGER: LingerBounds = { maxBytes: 16 * 1024 * 1024, idleMs: 5_000, maxMs: 30_000 };

/**
 * Whether the request has a body that has not been received to its end. An injected request
 * (light-my-request, no socket) has no `complete` and needs no lingering.
 */
export const bodyUnread = (request: IncomingMessage): boolean =>
  request.complete === false && (request.headers["transfer-encoding"] !== undefined || Number(request.headers["content-length"] ?? 0) > 0);

/**
 * The answer as a stream that yields `body` at once and ends once the request body has been read to
 * its end (or a bound is reached: the connection is then closed behind the answer). The caller sets
 * Content-Length, so that the client knows the answer is complete before the response ends.
 */
export function answerWhileDraining(request: IncomingMessage, response: ServerResponse, body: string, bounds = LINGER): Readable {
  const answer = new Readable({ read() {} });
  answer.push(body);
  const socket = request.socket;
  let discarded = 0;

  // Runs once: it removes every listener and timer that calls it.
  const end = (overBound: boolean) => {
    clearTimeout(idle);
    clearTimeout(deadline);
    request.off("data", onData);
    request.off("end", onEnd);
    request.off("close", onEnd);
    // Past a bound the rest of the body stays unread: close once the answer is out, rather than let
    // Node keep draining a kept-alive connection without limit.
    if (overBound) response.once("finish", () => socket.destroy());
    answer.push(null);
  };
  const onData = (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > bounds.maxBytes) end(true);
    else idle.refresh();
  };
  const onEnd = () => end(false);
  const idle = setTimeout(() => end(true), bounds.idleMs);
  const deadline = setTimeout(() => end(true), bounds.maxMs);

  request.on("data", onData);
  request.once("end", onEnd);
  request.once("close", onEnd);
  request.resume();
  return answer;
}
