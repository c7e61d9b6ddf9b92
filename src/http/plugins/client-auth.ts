// Reads client credentials from the request: HTTP Basic (client_secret_basic, RFC 6749 §2.3.1), the
// form body (client_secret_post), a signed assertion (private_key_jwt, RFC 7523 §2.2), or client_id
// alone (none: a public client, where the endpoint takes them). Checking
// them is the domain's job (authenticate.ts); the clientAuthentication hook runs that check before
// the handler, with the endpoint's rate limits on either side of it (rate-limits.ts).
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from "fastify";
import { authenticateClient, type ClientCredentials } from "../../domain/clients/authenticate.js";
import { InvalidClient, InvalidRequest } from "../../errors/oauth.js";
import { clientAuthLimits } from "./rate-limits.js";

type AuthenticatedClient = Awaited<ReturnType<typeof authenticateClient>>;

declare module "fastify" {
  interface FastifyRequest {
    /** The client the request authenticated as (clientAuthentication); null before or without it. */
    client: AuthenticatedClient | null;
  }
}

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
  if (clientId === undefined) throw new InvalidClient("client authentication required");
  // client_id alone: a public client (RFC 6749 §2.1, auth method none); a confidential one fails.
  if (secret === undefined) return { method: "none", clientId };
  return { method: "client_secret_post", clientId, secret };
}

/**
 * The client_id a request names (Basic header or client_id parameter), before any check: a claim,
 * never proof. The header is decoded as authentication decodes it, so "abc" and "%61bc" are one claim.
 */
export function claimedClientId(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const fromHeader = header === undefined ? undefined : basicClientId(header);
  if (fromHeader !== undefined) return fromHeader;
  const body = request.body as { client_id?: unknown } | undefined;
  return typeof body?.client_id === "string" ? body.client_id : undefined;
}

/**
 * A preHandler hook: authenticates the client into request.client, under the endpoint's limit of
 * `perMinute` (0: none). An address past its budget of failed authentications is refused first; a
 * failure (invalid_client, or malformed credentials) is counted for the address and the claimed
 * client_id; a success for the client. `publicClients`: whether public clients (auth method none) may
 * use the endpoint at all (/token and /revoke, RFC 7009 §2.1; not /introspect).
 */
export function clientAuthentication(app: FastifyInstance, endpoint: string, perMinute: number, publicClients = false): preHandlerAsyncHookHandler {
  if (!app.hasRequestDecorator("client")) app.decorateRequest("client", null);
  const limits = clientAuthLimits(app, endpoint, perMinute, claimedClientId);
  return async (request) => {
    await limits?.checkAddress(request);
    try {
      request.client = await authenticateClient(app.services, clientCredentials(request as FastifyRequest<{ Body: CredentialParams }>), publicClients);
    } catch (error) {
      // Only the client's failures count: not a database outage met while checking an assertion.
      const clientsFault = error instanceof InvalidClient || error instanceof InvalidRequest;
      throw (clientsFault && (await limits?.failed(request))) || error;
    }
    await limits?.admit(request);
  };
}
