-- DPoP (RFC 9449) and PAR (RFC 9126): per-client dpop_bound_access_tokens and require_pushed_authorization_requests; key-bound refresh families and codes (dpopJkt); proofs seen once (UsedDpopProof); pushed requests
-- AlterTable
ALTER TABLE "AuthorizationCode" ADD COLUMN     "dpopJkt" TEXT;

-- AlterTable
ALTER TABLE "Client" ADD COLUMN     "dpopBoundAccessTokens" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "requirePushedAuthorizationRequests" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "RefreshFamily" ADD COLUMN     "dpopJkt" TEXT;

-- CreateTable
CREATE TABLE "UsedDpopProof" (
    "id" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "UsedDpopProof_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PushedAuthorizationRequest" (
    "digest" TEXT NOT NULL,
    "clientId" TEXT NOT NULL,
    "parameters" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "PushedAuthorizationRequest_pkey" PRIMARY KEY ("digest")
);

-- CreateIndex
CREATE INDEX "UsedDpopProof_expiresAt_idx" ON "UsedDpopProof"("expiresAt");

-- CreateIndex
CREATE INDEX "PushedAuthorizationRequest_expiresAt_idx" ON "PushedAuthorizationRequest"("expiresAt");

-- AddForeignKey
ALTER TABLE "PushedAuthorizationRequest" ADD CONSTRAINT "PushedAuthorizationRequest_clientId_fkey" FOREIGN KEY ("clientId") REFERENCES "Client"("id") ON DELETE CASCADE ON UPDATE CASCADE;

