// Answers given before the request body was read (413 over BODY_LIMIT, 404 before parsing) reach a
// client that is still sending: the server reads and discards the rest of the body before it closes
// (lingering close, src/http/lingering-close.ts), within a bound. Over a real socket on port 0, with a
// client that writes its whole body before it reads a byte, as most HTTP clients do.
import net from "node:net";
import t, { type Test } from "tap";
import { LINGER } from "../../src/http/lingering-close.js";
import { basic, buildTestApp } from "../helpers/app.js";
import { expectOAuthError, type ErrorAnswer } from "../helpers/oauth.js";

const BODY = Buffer.alloc(2 * 1024 * 1024, "a"); // 2 MB of form data, 32 times the default BODY_LIMIT
const CHUNK = 64 * 1024;
const REPEAT = 5;

const server = await buildTestApp(t);
const client = await server.createClient();
await server.app.listen({ port: 0, host: "127.0.0.1" });
const { port } = server.app.server.address() as net.AddressInfo;

type Exchange = ErrorAnswer & { error: string | undefined; written: number };

/**
 * Sends `head` and then `body` in 64 KB writes, each awaited, reading nothing until every byte is
 * written (or the connection fails); then reads the answer until the server closes. With
 * `waitForAnswerAfter`, the client first writes that many body bytes and waits until the answer has
 * arrived (without reading it), so that the rest of the body is certainly sent after the answer.
 * With `readWhileWriting`, the client reads as the answer arrives instead.
 */
function exchange(head: string, body: Buffer, options: { waitForAnswerAfter?: number; readWhileWriting?: boolean } = {}): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let error: string | undefined;
    let written = 0;
    socket.on("error", (e: Error & { code?: string }) => (error ??= e.code ?? e.message));
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const split = text.indexOf("\r\n\r\n");
      const [statusLine, ...lines] = (split < 0 ? text : text.slice(0, split)).split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) headers[line.slice(0, line.indexOf(":")).trim().toLowerCase()] = line.slice(line.indexOf(":") + 1).trim();
      resolve({ statusCode: Number(statusLine?.split(" ")[1]), headers, body: split < 0 ? "" : text.slice(split + 4), error, written });
    });
    const read = () => {
      socket.removeAllListeners("readable");
      socket.on("data", (c: Buffer) => chunks.push(c));
      socket.resume();
    };
    const write = (bytes: Buffer | string) => new Promise<boolean>((done) => socket.write(bytes, (e) => done(!e)));
    const answerArrived = () => new Promise<void>((done) => (socket.readableLength > 0 ? done() : socket.once("readable", done)));

    socket.once("connect", async () => {
      if (options.readWhileWriting) read();
      else socket.pause();
      let ok = await write(head);
      for (let offset = 0; ok && offset < body.length; offset += CHUNK) {
        if (offset === options.waitForAnswerAfter) await answerArrived();
        ok = await write(body.subarray(offset, offset + CHUNK));
        if (ok) written = offset + Math.min(CHUNK, body.length - offset);
      }
      if (!options.readWhileWriting) read();
      if (ok) socket.end();
    });
  });
}

const post = (path: string, length: number, extra = "") =>
  `POST ${path} HTTP/1.1\r\nHost: tessera.test\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
  `Authorization: ${basic(client.clientId, client.clientSecret)}\r\nContent-Length: ${length}\r\n${extra}\r\n`;

/** The whole answer arrived, in the RFC 6749 §5.2 format, and the connection closed without a reset. */
function expectAnswer(t: Test, res: Exchange, status: number, what: string): void {
  t.equal(res.error, undefined, `${what}: no connection error (EPIPE, ECONNRESET) on the client`);
  t.equal(res.written, BODY.length, `${what}: the client wrote its whole body`);
  expectOAuthError(t, res, status, "invalid_request");
  t.equal(Number(res.headers["content-length"]), Buffer.byteLength(res.body), `${what}: the body is complete (Content-Length)`);
}

t.test("a 2 MB body to /token: every client that writes it all before reading gets the 413", async (t) => {
  for (let n = 1; n <= REPEAT; n++) {
    expectAnswer(t, await exchange(post("/token", BODY.length), BODY), 413, `keep-alive request ${n}`);
    expectAnswer(t, await exchange(post("/token", BODY.length, "Connection: close\r\n"), BODY), 413, `Connection: close request ${n}`);
  }
});

t.test("a client still sending after the 413 has arrived is not reset", async (t) => {
  // Deterministic where the above depends on socket buffer sizes: the server has answered (and,
  // before the fix, closed) before the client sends the rest of its body.
  for (let n = 1; n <= REPEAT; n++) {
    const res = await exchange(post("/token", BODY.length), BODY, { waitForAnswerAfter: CHUNK });
    expectAnswer(t, res, 413, `request ${n}`);
    t.equal(JSON.parse(res.body).error_description, "request body too large", "the description says why");
  }
});

t.test("a chunked body that grows over the limit while the client sends it", async (t) => {
  const chunked = Buffer.concat([Buffer.from(`${BODY.length.toString(16)}\r\n`), BODY, Buffer.from("\r\n0\r\n\r\n")]);
  const head = post("/token", 0).replace("Content-Length: 0\r\n", "Transfer-Encoding: chunked\r\n");
  for (let n = 1; n <= REPEAT; n++) {
    const res = await exchange(head, chunked, { waitForAnswerAfter: 2 * CHUNK });
    t.equal(res.error, undefined, `request ${n}: no connection error`);
    expectOAuthError(t, res, 413, "invalid_request");
  }
});

t.test("an answer given before the body is read (/admin without a token: 401 from the first hook) lingers too", async (t) => {
  const head = post("/admin/clients", BODY.length, "Connection: close\r\n").replace(/Authorization: [^\r]*\r\n/, "");
  for (let n = 1; n <= REPEAT; n++) {
    const res = await exchange(head, BODY, { waitForAnswerAfter: CHUNK });
    t.equal(res.error, undefined, `request ${n}: no connection error (EPIPE, ECONNRESET) on the client`);
    t.equal(res.written, BODY.length, `request ${n}: the client wrote its whole body`);
    t.equal(res.statusCode, 401, "401");
    t.match(res.headers["www-authenticate"], /^Bearer /, "with a Bearer challenge (RFC 6750 §3)");
    t.same(JSON.parse(res.body), { error: "invalid_token", error_description: "a bearer access token is required" }, "the whole RFC 6750 error body");
  }
});

t.test("the drain is bounded: a client that sends without end is cut off after the bound", async (t) => {
  const endless = Buffer.alloc(8 * LINGER.maxBytes, "a");
  const res = await exchange(post("/token", endless.length), endless, { readWhileWriting: true });
  expectOAuthError(t, res, 413, "invalid_request");
  t.ok(res.error === "EPIPE" || res.error === "ECONNRESET", `the server closed the connection under the client (${res.error})`);
  t.ok(res.written >= LINGER.maxBytes, `not before ${LINGER.maxBytes} bytes were drained (the client wrote ${res.written})`);
  t.ok(res.written < endless.length / 2, `long before the declared ${endless.length} bytes (the client wrote ${res.written})`);
});

t.test("the server still serves requests afterwards", async (t) => {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  t.equal(res.status, 200);
});
