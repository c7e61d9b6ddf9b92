// The grant types /token serves. The route looks the grant up here and never switches on grant_type.
import type { ClientRecord } from "../../storage/clients.js";
import type { AccessTokenDeps, TokenResponse } from "../tokens/access-token.js";
import * as clientCredentials from "./client-credentials.js";

/** /token parameters after schema validation: each a single string, except the repeatable `resource`. */
export type TokenParams = {
  grant_type: string;
  scope?: string;
  resource?: string | string[];
  audience?: string;
};

export type GrantContext = { client: ClientRecord; params: TokenParams; deps: AccessTokenDeps };

export type Grant = {
  grantType: string;
  handle(context: GrantContext): Promise<TokenResponse>;
};

export const GRANTS: ReadonlyMap<string, Grant> = new Map([[clientCredentials.grantType, clientCredentials]]);

export const GRANT_TYPES: readonly string[] = [...GRANTS.keys()];
