-- Issue 20, Token Status List: blocks of status-list entries reserved per client and instance; the
-- entry of the access token issued with a refresh token, and of a revoked (blocklisted) access token.
-- AlterTable
ALTER TABLE "RefreshToken" ADD COLUMN     "accessTokenStatus" INTEGER;

-- AlterTable
ALTER TABLE "RevokedAccessToken" ADD COLUMN     "status" INTEGER;

-- CreateTable
CREATE TABLE "StatusListBlock" (
    "slot" INTEGER NOT NULL,
    "clientId" TEXT NOT NULL,
    "instanceId" TEXT NOT NULL,
    "reservedAt" TIMESTAMP(3) NOT NULL,
    "expiresBy" TIMESTAMP(3) NOT NULL,
    "invalidatedAt" TIMESTAMP(3),

    CONSTRAINT "StatusListBlock_pkey" PRIMARY KEY ("slot")
);

-- CreateIndex
CREATE INDEX "StatusListBlock_clientId_idx" ON "StatusListBlock"("clientId");

-- CreateIndex
CREATE INDEX "StatusListBlock_expiresBy_idx" ON "StatusListBlock"("expiresBy");

