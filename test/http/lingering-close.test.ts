// The bounds of the lingering close (src/http/lingering-close.ts), each reached on its own: small
// bounds on a plain node:http server that answers every request at once, before reading its body.
// The byte bound, and the whole path through tessera's error handler, are in body-limit.test.ts.
import http from "node:http";
import net from "node:net";
import t, { type Test } from "tap";
import { answerWhileDraining, type LingerBounds } from "../../src/http/lingering-close.js";

const ANSWER = '{"error":"invalid_request","error_description":"request body too large"}';

async function server(t: Test, bounds: LingerBounds): Promise<number> {
  const s = http.createServer((request, response) => {
    response.statusCode = 413;
    response.setHeader("content-length", Buffer.byteLength(ANSWER));
    answerWhileDraining(request, response, ANSWER, bounds).pipe(response);
  });
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise((resolve) => s.close(resolve)));
  return (s.address() as net.AddressInfo).port;
}

type Outcome = { text: string; closedBy: "server" | "client"; sent: number };

/**
 * Sends a request declaring a 1 MB body and then `send(write)` of it, reading as the answer comes,
 * until the server closes the connection.
 */
function client(port: number, send: (write: (bytes: number) => boolean) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let sent = 0;
    let closedByServer = false;
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("end", () => (closedByServer = true));
    socket.on("error", () => (closedByServer = true)); // a reset is the server closing too
    socket.on("close", () => resolve({ text: Buffer.concat(chunks).toString(), closedBy: closedByServer ? "server" : "client", sent }));
    socket.once("connect", () => {
      socket.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");
      send((bytes) => {
        if (socket.destroyed || socket.writableEnded) return false;
        socket.write(Buffer.alloc(bytes, "a"));
        sent += bytes;
        return true;
      });
    });
  });
}

t.test("a client that stops sending is let go after idleMs", async (t) => {
  const port = await server(t, { maxBytes: 1e9, idleMs: 100, maxMs: 600_000 });
  const outcome = await client(port, (write) => write(1000));
  t.equal(outcome.closedBy, "server", "the server closed the connection");
  t.equal(outcome.sent, 1000, "with most of the declared body never sent");
  t.match(outcome.text, /^HTTP\/1\.1 413 /, "after the answer");
  t.ok(outcome.text.endsWith(`\r\n\r\n${ANSWER}`), "the whole answer");
});

t.test("a client that keeps trickling is let go after maxMs", async (t) => {
  const port = await server(t, { maxBytes: 1e9, idleMs: 600_000, maxMs: 200 });
  const outcome = await client(port, (write) => {
    const timer = setInterval(() => {
      if (!write(10)) clearInterval(timer);
    }, 10);
  });
  t.equal(outcome.closedBy, "server", "the server closed the connection");
  t.ok(outcome.sent < 1_000_000, `before the declared body was sent (${outcome.sent} bytes)`);
  t.ok(outcome.text.endsWith(`\r\n\r\n${ANSWER}`), "after the whole answer");
});

t.test("a body drained to its end leaves a kept-alive connection in step for the next request", async (t) => {
  const port = await server(t, { maxBytes: 1e9, idleMs: 600_000, maxMs: 600_000 });
  const socket = net.connect(port, "127.0.0.1");
  t.teardown(() => socket.destroy());
  await new Promise((resolve) => socket.once("connect", resolve));
  const answers: string[] = [];
  let received = "";
  socket.on("data", (c: Buffer) => {
    received += c.toString();
    for (let end = received.indexOf(ANSWER); end >= 0; end = received.indexOf(ANSWER)) {
      answers.push(received.slice(0, end + ANSWER.length));
      received = received.slice(end + ANSWER.length);
    }
  });
  const request = (body: string) => `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  socket.write(request("a".repeat(100_000)) + request("second"));
  await new Promise<void>((resolve) => socket.on("data", () => answers.length === 2 && resolve()));
  t.equal(answers.length, 2, "both requests answered on one connection");
  t.notMatch(answers[0], /connection: close/i, "the first answer kept the connection");
});
