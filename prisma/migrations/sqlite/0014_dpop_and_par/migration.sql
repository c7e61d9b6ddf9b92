-- DPoP (RFC 9449) and PAR (RFC 9126): per-client dpop_bound_access_tokens and require_pushed_authorization_requests; key-bound refresh families and codes (dpopJkt); proofs seen once (UsedDpopProof); pushed requests
-- AlterTable
ALTER TABLE "AuthorizationCode" ADD COLUMN "dpopJkt" TEXT;

-- AlterTable
ALTER TABLE "RefreshFamily" ADD COLUMN "dpopJkt" TEXT;

-- CreateTable
CREATE TABLE "UsedDpopProof" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "expiresAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "PushedAuthorizationRequest" (
    "digest" TEXT NOT NULL PRIMARY KEY,
    "clientId" TEXT NOT NULL,
    "parameters" TEXT NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    CONSTRAINT "PushedAuthorizationRequest_clientId_fkey" FOREIGN KEY ("clientId") REFERENCES "Client" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Client" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "grantTypes" TEXT NOT NULL,
    "scopes" TEXT NOT NULL DEFAULT '',
    "audiences" TEXT NOT NULL DEFAULT '',
    "tokenTtlSeconds" INTEGER,
    "firstParty" BOOLEAN NOT NULL DEFAULT false,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "canIntrospect" BOOLEAN NOT NULL DEFAULT false,
    "jwks" TEXT,
    "secretDigest" TEXT,
    "previousSecretDigest" TEXT,
    "previousSecretExpiresAt" DATETIME,
    "redirectUris" TEXT NOT NULL DEFAULT '',
    "postLogoutRedirectUris" TEXT NOT NULL DEFAULT '',
    "public" BOOLEAN NOT NULL DEFAULT false,
    "dpopBoundAccessTokens" BOOLEAN NOT NULL DEFAULT false,
    "requirePushedAuthorizationRequests" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);
INSERT INTO "new_Client" ("audiences", "canIntrospect", "createdAt", "enabled", "firstParty", "grantTypes", "id", "jwks", "name", "postLogoutRedirectUris", "previousSecretDigest", "previousSecretExpiresAt", "public", "redirectUris", "scopes", "secretDigest", "tokenTtlSeconds", "updatedAt") SELECT "audiences", "canIntrospect", "createdAt", "enabled", "firstParty", "grantTypes", "id", "jwks", "name", "postLogoutRedirectUris", "previousSecretDigest", "previousSecretExpiresAt", "public", "redirectUris", "scopes", "secretDigest", "tokenTtlSeconds", "updatedAt" FROM "Client";
DROP TABLE "Client";
ALTER TABLE "new_Client" RENAME TO "Client";
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "UsedDpopProof_expiresAt_idx" ON "UsedDpopProof"("expiresAt");

-- CreateIndex
CREATE INDEX "PushedAuthorizationRequest_expiresAt_idx" ON "PushedAuthorizationRequest"("expiresAt");

