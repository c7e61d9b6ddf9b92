-- AlterTable: the token that replaced a rotated one (REFRESH_REUSE_GRACE checks that it is unused)
ALTER TABLE "RefreshToken" ADD COLUMN "successorDigest" TEXT;
