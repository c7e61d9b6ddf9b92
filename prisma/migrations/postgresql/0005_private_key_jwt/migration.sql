-- AlterTable
ALTER TABLE "Client" ADD COLUMN     "jwks" TEXT;

-- CreateTable
CREATE TABLE "UsedClientAssertion" (
    "id" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "UsedClientAssertion_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "UsedClientAssertion_expiresAt_idx" ON "UsedClientAssertion"("expiresAt");

