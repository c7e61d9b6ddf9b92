// Grants (remembered consents) as the admin API answers them and `tessera grants … --json` prints them.
import type { GrantSummary } from "../../storage/grants.js";
import type { GrantRevocation } from "./consent.js";

export const grantJson = (g: GrantSummary) => ({
  id: g.id,
  user_id: g.userId,
  client_id: g.clientId,
  client_name: g.clientName,
  /** space-separated, as OAuth writes a scope */
  scope: g.scope.join(" "),
  audiences: g.audience,
  created_at: g.createdAt.toISOString(),
  updated_at: g.updatedAt.toISOString(),
});

export const grantRevocationJson = (r: GrantRevocation) => ({
  revoked: r.grantId,
  refresh_families_revoked: r.families,
  access_tokens_revoked: r.accessTokensRevoked,
});
