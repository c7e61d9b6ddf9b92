// GET with a timeout and a cap on the body read: what the verifier fetches (metadata, status
// lists) comes from the network and is bounded before it is parsed.
import { AccessTokenError } from "./errors.js";

export type Fetch = typeof fetch;

export type Fetched = { status: number; contentType: string; body: string };

export async function fetchBounded(url: string, init: { fetch: Fetch; accept: string; maxBytes: number; timeoutMs: number }): Promise<Fetched> {
  let response: Response;
  try {
    response = await init.fetch(url, {
      headers: { accept: init.accept },
      redirect: "error",
      signal: AbortSignal.timeout(init.timeoutMs),
    });
  } catch (cause) {
    throw new AccessTokenError("temporarily_unavailable", `could not fetch ${url}`, { cause });
  }
  const chunks: Uint8Array[] = [];
  let length = 0;
  if (response.body) {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      length += chunk.byteLength;
      if (length > init.maxBytes) {
        await response.body.cancel().catch(() => undefined);
        throw new AccessTokenError("temporarily_unavailable", `${url} answered more than ${init.maxBytes} bytes`);
      }
      chunks.push(chunk);
    }
  }
  return {
    status: response.status,
    contentType: (response.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase(),
    body: Buffer.concat(chunks).toString("utf8"),
  };
}
