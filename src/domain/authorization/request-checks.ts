// The checks of /authorize, one small function each, run in a fixed order as node-oidc-provider's
// lib/actions/authorization/ runs them. The first two (client, redirect URI) decide whether an
// error may be sent to the redirect URI at all: until both hold, errors are a page of tessera's own
// (RFC 6749 §4.1.2.1: never redirect to an unverified URI). The others throw the OAuth error the
// client receives by redirect.
import { InvalidClient, InvalidRequest, UnauthorizedClient, UnsupportedResponseType } from "../../errors/oauth.js";
import type { ClientRecord } from "../../storage/clients.js";
import { selectAudience } from "../audience.js";
import { matchRedirectUri } from "../clients/redirect-uris.js";
import { grantScope } from "../scope.js";
import { PROMPTS, type AuthorizationRequest, type Prompt, type RawParams } from "./authorization-request.js";

/** Parameters that may be repeated (RFC 8707 §2: one resource parameter per audience). */
const REPEATABLE = new Set(["resource"]);

// RFC 7636 §4.2: code_challenge = BASE64URL(SHA256(verifier)), 43 characters; §4.1 allows 43 to 128
// unreserved characters for a verifier, and a challenge has the same alphabet.
const CODE_CHALLENGE = /^[A-Za-z0-9\-._~]{43,128}$/;
const MAX_AGE = /^(0|[1-9][0-9]{0,9})$/;
// RFC 9449 §10: dpop_jkt is a JWK SHA-256 thumbprint (RFC 7638), base64url: 43 characters.
const DPOP_JKT = /^[A-Za-z0-9_-]{43}$/;
/** state, nonce and login_hint are echoed or stored: a bound keeps a URL or row from growing without end. */
const MAX_VALUE_LENGTH = 2048;

/** A single value: undefined when absent; a repeated parameter is refused with `duplicate`. */
function single(params: RawParams, name: string, duplicate: (message: string) => Error): string | undefined {
  const value = params[name];
  if (Array.isArray(value)) throw duplicate(`parameter ${name} is repeated`);
  return value;
}

/** client_id names a known, enabled client registered for the authorization_code grant. */
export function checkClient(params: RawParams, get: (id: string) => ClientRecord | undefined): ClientRecord {
  const clientId = single(params, "client_id", (m) => new InvalidRequest(m));
  if (clientId === undefined) throw new InvalidRequest("parameter client_id is missing");
  const client = get(clientId);
  if (!client?.enabled) throw new InvalidClient("unknown client", { status: 400 });
  if (!client.grantTypes.includes("authorization_code")) throw new UnauthorizedClient("this client is not registered for the authorization code flow");
  return client;
}

/** The effective redirect URI: the one sent, which must be registered, or the client's only one. */
export function checkRedirectUri(params: RawParams, client: ClientRecord): { redirectUri: string; redirectUriSent: boolean } {
  const sent = single(params, "redirect_uri", (m) => new InvalidRequest(m));
  if (sent === undefined) {
    if (client.redirectUris.length !== 1) throw new InvalidRequest("parameter redirect_uri is missing (the client has more than one registered)");
    return { redirectUri: client.redirectUris[0]!, redirectUriSent: false };
  }
  if (!matchRedirectUri(client.redirectUris, sent)) throw new InvalidRequest("redirect_uri is not registered for this client");
  return { redirectUri: sent, redirectUriSent: true };
}

/** Once the redirect URI holds: no parameter but resource may be repeated. */
export function checkNoDuplicates(params: RawParams): void {
  for (const [name, value] of Object.entries(params)) {
    if (Array.isArray(value) && !REPEATABLE.has(name)) throw new InvalidRequest(`parameter ${name} is repeated`);
  }
}

/** RFC 6749 §3.1.1: response_type is required; tessera answers only `code` (OAuth 2.1). */
export function checkResponseType(params: RawParams): void {
  const responseType = params.response_type as string | undefined;
  if (responseType === undefined) throw new InvalidRequest("parameter response_type is missing");
  if (responseType !== "code") throw new UnsupportedResponseType("only response_type=code is supported");
}

/** OpenID Connect Core §3.1.2.1: space-separated none, login, consent; none stands alone. */
export function checkPrompt(params: RawParams): Prompt[] {
  const raw = params.prompt as string | undefined;
  if (raw === undefined) return [];
  const values = [...new Set(raw.split(" ").filter((v) => v !== ""))];
  const unknown = values.filter((v) => !(PROMPTS as readonly string[]).includes(v));
  if (unknown.length) throw new InvalidRequest(`unsupported prompt value: ${unknown.join(" ")}`);
  if (values.includes("none") && values.length > 1) throw new InvalidRequest("prompt=none cannot be combined with other values");
  return values as Prompt[];
}

/** The scope asked for, each one allowed for the client (else invalid_scope); none asked: all allowed. */
export const checkScope = (params: RawParams, client: ClientRecord): string[] => grantScope(params.scope as string | undefined, client.scopes);

/** OpenID Connect Core §3.1.2.1: max_age is a non-negative number of seconds. */
export function checkMaxAge(params: RawParams): number | undefined {
  const raw = params.max_age as string | undefined;
  if (raw === undefined) return undefined;
  if (!MAX_AGE.test(raw)) throw new InvalidRequest("max_age must be a non-negative integer (seconds)");
  return Number(raw);
}

/** RFC 7636 with OAuth 2.1: a S256 challenge for every client; plain is refused. */
export function checkPkce(params: RawParams): string {
  const challenge = params.code_challenge as string | undefined;
  const method = params.code_challenge_method as string | undefined;
  if (challenge === undefined) throw new InvalidRequest("code_challenge is required (PKCE with S256)");
  if (method === undefined) throw new InvalidRequest("code_challenge_method is required and must be S256");
  if (method !== "S256") throw new InvalidRequest("code_challenge_method must be S256 (plain is not allowed)");
  if (!CODE_CHALLENGE.test(challenge)) throw new InvalidRequest("code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~");
  return challenge;
}

/** resource (RFC 8707) or audience, chosen as /token chooses them (audience.ts). */
export function checkResource(params: RawParams, client: ClientRecord): string[] {
  return [selectAudience(params.resource, params.audience as string | undefined, client.audiences)].flat();
}

/** RFC 9449 §10: the code is bound to this DPoP key; the exchange must prove possession of it. */
export function checkDpopJkt(params: RawParams): string | undefined {
  const jkt = params.dpop_jkt as string | undefined;
  if (jkt !== undefined && !DPOP_JKT.test(jkt)) throw new InvalidRequest("dpop_jkt must be a JWK SHA-256 thumbprint: 43 base64url characters");
  return jkt;
}

function checkLength(params: RawParams, name: string): string | undefined {
  const value = params[name] as string | undefined;
  if (value !== undefined && value.length > MAX_VALUE_LENGTH) throw new InvalidRequest(`${name} is longer than ${MAX_VALUE_LENGTH} characters`);
  return value;
}

/**
 * Every check after the redirect URI, in order; the first failure is thrown. Returns the request
 * the interaction carries.
 */
export function checkRequest(params: RawParams, client: ClientRecord, target: { redirectUri: string; redirectUriSent: boolean }): AuthorizationRequest {
  checkNoDuplicates(params);
  checkResponseType(params);
  const prompt = checkPrompt(params);
  const scope = checkScope(params, client);
  const maxAge = checkMaxAge(params);
  const codeChallenge = checkPkce(params);
  const audience = checkResource(params, client);
  const nonce = checkLength(params, "nonce");
  const loginHint = checkLength(params, "login_hint");
  const dpopJkt = checkDpopJkt(params);
  return {
    clientId: client.id,
    ...target,
    ...(params.state !== undefined && { state: params.state as string }),
    scope,
    audience,
    codeChallenge,
    ...(nonce !== undefined && { nonce }),
    prompt,
    ...(maxAge !== undefined && { maxAge }),
    ...(loginHint !== undefined && { loginHint }),
    ...(dpopJkt !== undefined && { dpopJkt }),
  };
}
