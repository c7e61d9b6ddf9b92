-- CreateTable
CREATE TABLE "RevokedAccessToken" (
    "jti" TEXT NOT NULL PRIMARY KEY,
    "clientId" TEXT NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    "revokedAt" DATETIME NOT NULL
);

-- AlterTable (reviewed: a plain ADD COLUMN instead of Prisma's table rebuild, which would drop and
-- recreate the parent table of RefreshFamily)
ALTER TABLE "Client" ADD COLUMN "canIntrospect" BOOLEAN NOT NULL DEFAULT false;

-- CreateIndex
CREATE INDEX "RevokedAccessToken_expiresAt_idx" ON "RevokedAccessToken"("expiresAt");
