// Reads client credentials from the request: HTTP Basic (client_secret_basic, RFC 6749 §2.3.1), the
// form body (client_secret_post) or a signed assertion (private_key_jwt, RFC 7523 §2.2). Checking
// them is the domain's job (authenticate.ts).
import type { FastifyRequest } from "fastify";
import type { ClientCredentials } from "../../domain/clients/authenticate.js";
import { InvalidClient, InvalidRequest } from "../../errors/oauth.js";

type CredentialParams = { client_id?: string; client_secret?: string; client_assertion?: string; client_assertion_type?: string };

const JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

const BASIC = /^basic +([A-Za-z0-9+/]+={0,2})$/i;

// RFC 6749 §2.3.1: client_id and secret are form-urlencoded before they are Base64-encoded.
function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replaceAll("+", " "));
  } catch {
    throw new InvalidClient("malformed Basic authorization header");
  }
}

function fromBasicHeader(header: string): ClientCredentials {
  const match = BASIC.exec(header.trim());
  const decoded = match ? Buffer.from(match[1]!, "base64").toString("utf8") : "";
  const colon = decoded.indexOf(":");
  if (colon < 1) throw new InvalidClient("malformed Basic authorization header");
  return { method: "client_secret_basic", clientId: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
}

/** The client_id of a well-formed Basic header, decoded exactly as authentication decodes it. */
export function basicClientId(header: string): string | undefined {
  try {
    return fromBasicHeader(header).clientId;
  } catch {
    return undefined;
  }
}

/** The credentials a request presents; exactly one method may be used (RFC 6749 §2.3). */
export function clientCredentials(request: FastifyRequest<{ Body: CredentialParams }>): ClientCredentials {
  const header = request.headers.authorization;
  const { client_id: clientId, client_secret: secret, client_assertion: assertion, client_assertion_type: assertionType } = request.body;
  const methods = [header, secret, assertion].filter((m) => m !== undefined).length;
  if (methods > 1) throw new InvalidRequest("use one client authentication method, not several");
  if (assertion !== undefined || assertionType !== undefined) {
    if (assertionType !== JWT_BEARER_ASSERTION) throw new InvalidClient(`client_assertion_type must be ${JWT_BEARER_ASSERTION}`);
    if (assertion === undefined) throw new InvalidRequest("client_assertion is missing");
    return { method: "private_key_jwt", clientId, assertion };
  }
  if (header !== undefined) {
    const basic = fromBasicHeader(header);
    if (clientId !== undefined && clientId !== basic.clientId) throw new InvalidRequest("client_id does not match the authorization header");
    return basic;
  }
  if (clientId === undefined || secret === undefined) throw new InvalidClient("client authentication required");
  return { method: "client_secret_post", clientId, secret };
}
