-- AlterTable: a client's registered post-logout redirect URIs (OpenID RP-Initiated Logout 1.0), space-separated; codes found by their browser session (a logout ends what they issued)
-- AlterTable
ALTER TABLE "Client" ADD COLUMN     "postLogoutRedirectUris" TEXT NOT NULL DEFAULT '';

-- CreateIndex
CREATE INDEX "AuthorizationCode_sessionId_idx" ON "AuthorizationCode"("sessionId");

