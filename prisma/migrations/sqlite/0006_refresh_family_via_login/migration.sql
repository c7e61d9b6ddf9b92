-- AlterTable (reviewed: a plain ADD COLUMN instead of Prisma's table rebuild, which would drop the
-- parent table of RefreshToken)
ALTER TABLE "RefreshFamily" ADD COLUMN "viaLogin" BOOLEAN NOT NULL DEFAULT false;
