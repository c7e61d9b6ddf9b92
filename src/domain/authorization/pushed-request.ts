// Pushed authorization requests (RFC 9126). POST /par takes an authenticated client's authorization
// request, checks it as /authorize would (request-checks.ts, errors as JSON: §2.3) and stores its
// parameters for PAR_TTL seconds under a random request_uri; /authorize?client_id&request_uri uses
// them once (§4) and checks them again, since the client or the policy may have changed meanwhile.
import { randomToken, sha256 } from "../../crypto/secrets.js";
import { InvalidDpopProof, InvalidRequest, InvalidRequestUri } from "../../errors/oauth.js";
import type { ClientRecord } from "../../storage/clients.js";
import type { PushedAuthorizationRequestRepository } from "../../storage/pushed-authorization-requests.js";
import type { Clock } from "../clock.js";
import type { DpopKey } from "../grants/index.js";
import type { RawParams } from "./authorization-request.js";
import { checkClient, checkRedirectUri, checkRequest } from "./request-checks.js";

/** RFC 9126 §2.2: the request_uri is a URN of this form, with 256 random bits after it. */
export const REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:";
const REQUEST_URI = /^urn:ietf:params:oauth:request_uri:([A-Za-z0-9_-]{43})$/;

// Client authentication (client-auth.ts reads them): never part of the stored request.
const CREDENTIALS = new Set(["client_secret", "client_assertion", "client_assertion_type"]);

export type PushedRequestDeps = {
  repo: PushedAuthorizationRequestRepository;
  clock: Clock;
  /** PAR_TTL: how long a request_uri stays usable */
  ttlSeconds: number;
  /** REQUIRE_PAR: every client must push its requests */
  requiredForAll: boolean;
};

export type PushedRequest = { request_uri: string; expires_in: number };

export class PushedRequestService {
  readonly #deps: PushedRequestDeps;

  constructor(deps: PushedRequestDeps) {
    this.#deps = deps;
  }

  /**
   * Checks and stores the request `client` pushed. `dpop`: the key of a DPoP proof sent with it (RFC
   * 9449 §10.1), checked by the caller; it binds the code as dpop_jkt does, and a dpop_jkt sent too must
   * name the same key.
   */
  async push(client: ClientRecord, params: RawParams, dpop: DpopKey | null = null): Promise<PushedRequest> {
    // §2.1: a request_uri cannot refer to another one.
    if (params.request_uri !== undefined) throw new InvalidRequest("request_uri cannot be pushed: send the request itself");
    if (params.client_id !== undefined && params.client_id !== client.id) throw new InvalidRequest("client_id does not match the authenticated client");
    const parameters: Record<string, string | string[]> = { client_id: client.id };
    for (const [name, value] of Object.entries(params)) if (value !== undefined && !CREDENTIALS.has(name)) parameters[name] = value;
    if (dpop) {
      if (params.dpop_jkt !== undefined && params.dpop_jkt !== dpop.jkt) throw new InvalidDpopProof("dpop_jkt is not the thumbprint of the DPoP proof's key");
      parameters.dpop_jkt = dpop.jkt;
    }
    // The checks of /authorize, in its order; their errors are JSON here (§2.3), none redirects.
    checkClient(parameters, () => client);
    checkRequest(parameters, client, checkRedirectUri(parameters, client));
    const random = randomToken(32);
    const now = this.#deps.clock.now();
    const stored = await this.#deps.repo.insert({ digest: sha256(random), clientId: client.id, parameters, expiresAt: new Date(now + this.#deps.ttlSeconds * 1000) });
    // The client was deleted between its authentication and this insert.
    if (!stored) throw new InvalidRequest("the client of this request no longer exists");
    return { request_uri: `${REQUEST_URI_PREFIX}${random}`, expires_in: this.#deps.ttlSeconds };
  }

  /**
   * The parameters `client` pushed under `requestUri`, which can be used only this once; other
   * parameters of the /authorize request are ignored (§4). Unknown, used, expired or another client's:
   * InvalidRequestUri (RFC 9101 §7), which /authorize shows on its error page (no redirect: the
   * redirect URI to trust is in the request it cannot use).
   */
  async use(client: ClientRecord, requestUri: string | string[]): Promise<RawParams> {
    if (Array.isArray(requestUri)) throw new InvalidRequest("parameter request_uri is repeated");
    const random = REQUEST_URI.exec(requestUri)?.[1];
    const parameters = random === undefined ? null : await this.#deps.repo.consumeIfActive(sha256(random), client.id, new Date(this.#deps.clock.now()));
    if (!parameters) throw new InvalidRequestUri("request_uri is unknown, expired or already used, or was pushed by another client");
    return parameters;
  }

  /** §4 and §5-6: REQUIRE_PAR or the client's require_pushed_authorization_requests refuse other requests. */
  checkNotRequired(client: ClientRecord): void {
    if (this.#deps.requiredForAll || client.requirePushedAuthorizationRequests) {
      throw new InvalidRequest("this client must push its authorization requests to the pushed_authorization_request_endpoint (RFC 9126) and send only client_id and request_uri");
    }
  }
}
