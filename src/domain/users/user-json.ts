// Users and their sessions as the admin API answers them and `tessera users … --json` prints them:
// one representation, snake_case as OAuth names things, dates as ISO 8601 strings.
import type { BrowserSession } from "../authorization/browser-session.js";
import type { UserSession, UserView } from "./user-service.js";

export const userJson = (u: UserView) => ({
  id: u.id,
  username: u.username,
  enabled: u.enabled,
  name: u.name,
  email: u.email,
  email_verified: u.emailVerified,
  created_at: u.createdAt.toISOString(),
  updated_at: u.updatedAt.toISOString(),
});

export const sessionJson = (s: UserSession) => ({
  id: s.id,
  client_id: s.clientId,
  client_name: s.clientName,
  created_at: s.createdAt.toISOString(),
  last_used_at: s.lastUsedAt.toISOString(),
  expires_at: s.expiresAt.toISOString(),
});

export const browserSessionJson = (s: BrowserSession) => ({
  id: s.id,
  auth_time: s.authTime.toISOString(),
  created_at: s.createdAt.toISOString(),
  last_seen_at: s.lastSeenAt.toISOString(),
  expires_at: s.expiresAt.toISOString(),
});
