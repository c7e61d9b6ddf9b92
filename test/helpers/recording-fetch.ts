// What a client library sent and got over HTTP, for tests that check the wire rather than what the
// library makes of it (oauth4webapi and openid-client lowercase token_type, keep nonces to themselves):
// a fetch to hand them as their customFetch, recording each exchange.
import { decodeJwt, type JWTPayload } from "jose";

export type Exchange = {
  url: string;
  /** The payload of the request's DPoP proof, or null without one. */
  proof: JWTPayload | null;
  status: number;
  /** The answer's DPoP-Nonce header. */
  nonce: string | null;
  /** The answer's body, parsed when it is JSON. */
  body: Record<string, unknown> | string;
};

export function recordingFetch() {
  const exchanges: Exchange[] = [];
  const recorder = async (url: string, init: RequestInit): Promise<Response> => {
    const response = await fetch(url, init);
    const proof = new Headers(init.headers).get("dpop");
    const text = await response.clone().text();
    let body: Exchange["body"] = text;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {} // not JSON: kept as text
    exchanges.push({ url, proof: proof === null ? null : decodeJwt(proof), status: response.status, nonce: response.headers.get("dpop-nonce"), body });
    return response;
  };
  /** The latest exchange with `path` (a URL's pathname). */
  const last = (path: string): Exchange => {
    const found = exchanges.findLast((e) => new URL(e.url).pathname === path);
    if (!found) throw new Error(`no request to ${path} so far`);
    return found;
  };
  return { fetch: recorder, exchanges, last };
}
