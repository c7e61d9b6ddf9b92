-- AlterTable
ALTER TABLE "Client" ADD COLUMN "jwks" TEXT;

-- CreateTable
CREATE TABLE "UsedClientAssertion" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "expiresAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE INDEX "UsedClientAssertion_expiresAt_idx" ON "UsedClientAssertion"("expiresAt");

