-- Issue 20, Token Status List: blocks of status-list entries reserved per client and instance; the
-- entry of the access token issued with a refresh token, and of a revoked (blocklisted) access token.
-- AlterTable
ALTER TABLE "RefreshToken" ADD COLUMN "accessTokenStatus" INTEGER;

-- AlterTable
ALTER TABLE "RevokedAccessToken" ADD COLUMN "status" INTEGER;

-- CreateTable
CREATE TABLE "StatusListBlock" (
    "slot" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "clientId" TEXT NOT NULL,
    "instanceId" TEXT NOT NULL,
    "reservedAt" DATETIME NOT NULL,
    "expiresBy" DATETIME NOT NULL,
    "invalidatedAt" DATETIME
);

-- CreateIndex
CREATE INDEX "StatusListBlock_clientId_idx" ON "StatusListBlock"("clientId");

-- CreateIndex
CREATE INDEX "StatusListBlock_expiresBy_idx" ON "StatusListBlock"("expiresBy");

