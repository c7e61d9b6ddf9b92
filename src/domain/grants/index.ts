// The grant types /token serves. The route looks the grant up here and never switches on grant_type.
import type { AuditRepository } from "../../storage/audit.js";
import type { AuthorizationCodeRepository } from "../../storage/authorization-codes.js";
import type { ClientRecord } from "../../storage/clients.js";
import type { RevokedAccessTokenRepository } from "../../storage/revoked-access-tokens.js";
import type { Logger } from "../logger.js";
import type { AccessTokenDeps, TokenResponse } from "../tokens/access-token.js";
import type { RefreshTokenService } from "../tokens/refresh-token-service.js";
import type { UserService } from "../users/user-service.js";
import * as authorizationCode from "./authorization-code.js";
import * as clientCredentials from "./client-credentials.js";
import * as password from "./password.js";
import * as refreshToken from "./refresh-token.js";
import type { StatusListRegistry } from "../tokens/status-list-registry.js";

/** /token parameters after schema validation: each a single string, except the repeatable `resource`. */
export type TokenParams = {
  grant_type: string;
  scope?: string;
  resource?: string | string[];
  audience?: string;
  username?: string;
  password?: string;
  refresh_token?: string;
  code?: string;
  code_verifier?: string;
  redirect_uri?: string;
};

export type GrantDeps = AccessTokenDeps & {
  users: UserService;
  refreshTokens: RefreshTokenService;
  authorizationCodes: AuthorizationCodeRepository;
  blocklist: RevokedAccessTokenRepository;
  /** this instance's status lists (a replayed code's access token reads INVALID); null when off */
  statusLists: StatusListRegistry | null;
  audit: AuditRepository;
  log: Logger;
};

/**
 * The key a request's DPoP proof proved possession of (RFC 9449 §4.3, checked by the route through
 * crypto/dpop.ts): its JWK SHA-256 thumbprint (RFC 7638), the `cnf.jkt` of what is issued. null: no proof.
 */
export type DpopKey = { jkt: string };

export type GrantContext = { client: ClientRecord; params: TokenParams; dpop: DpopKey | null; deps: GrantDeps };

export type Grant = {
  grantType: string;
  handle(context: GrantContext): Promise<TokenResponse>;
};

export const GRANTS: ReadonlyMap<string, Grant> = new Map(
  [authorizationCode, clientCredentials, password, refreshToken].map((grant) => [grant.grantType, grant]),
);

export const GRANT_TYPES: readonly string[] = [...GRANTS.keys()];

/** The only grants a public client (no secret, auth method none) may use (OAuth 2.1 §2.1). */
export const PUBLIC_CLIENT_GRANTS: readonly string[] = [authorizationCode.grantType, refreshToken.grantType];
