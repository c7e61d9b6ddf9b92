-- AlterTable: a client's registered post-logout redirect URIs (OpenID RP-Initiated Logout 1.0), space-separated; codes found by their browser session (a logout ends what they issued)
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
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);
INSERT INTO "new_Client" ("audiences", "canIntrospect", "createdAt", "enabled", "firstParty", "grantTypes", "id", "jwks", "name", "previousSecretDigest", "previousSecretExpiresAt", "public", "redirectUris", "scopes", "secretDigest", "tokenTtlSeconds", "updatedAt") SELECT "audiences", "canIntrospect", "createdAt", "enabled", "firstParty", "grantTypes", "id", "jwks", "name", "previousSecretDigest", "previousSecretExpiresAt", "public", "redirectUris", "scopes", "secretDigest", "tokenTtlSeconds", "updatedAt" FROM "Client";
DROP TABLE "Client";
ALTER TABLE "new_Client" RENAME TO "Client";
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "AuthorizationCode_sessionId_idx" ON "AuthorizationCode"("sessionId");

