// The DPoP header(s) of a request as DpopProofChecker takes them (RFC 9449 §4.1, §4.3), for every
// route that accepts proofs.
import type { FastifyRequest, onRequestHookHandler } from "fastify";
import type { DpopProofChecker, DpopRequest } from "../domain/tokens/dpop-proofs.js";

/** How many DPoP header fields came: Node joins repeated ones into one value (§4.3 check 1). */
export function dpopHeaderCount(request: FastifyRequest): number {
  const raw = request.raw.rawHeaders;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === "dpop") count++;
  return count;
}

/** The request's proof, method and `htu` (the endpoint's URI, as the issuer names it), with the access token it comes with, if any. */
export function dpopRequest(request: FastifyRequest, htu: string, accessToken?: string): DpopRequest {
  return {
    // One string: Node joins repeated fields of a header it does not know with ", ".
    header: request.headers.dpop as string | undefined,
    headerCount: dpopHeaderCount(request),
    htm: request.method,
    htu,
    ...(accessToken === undefined ? {} : { accessToken }),
  };
}

/**
 * An onRequest hook for routes that take proofs when DPOP_NONCE is on (RFC 9449 §8-9): every answer,
 * error or not, names the nonce to use next. Set before anything can fail, as noStore's headers are.
 */
export const dpopNonceHeader = (dpop: DpopProofChecker): onRequestHookHandler => (_request, reply, done) => {
  reply.header("dpop-nonce", dpop.nonce());
  done();
};
