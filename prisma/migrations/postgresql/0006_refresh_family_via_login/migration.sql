-- AlterTable
ALTER TABLE "RefreshFamily" ADD COLUMN     "viaLogin" BOOLEAN NOT NULL DEFAULT false;

