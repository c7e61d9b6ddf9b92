-- DropIndex
DROP INDEX "SigningKey_state_idx";

-- AlterTable
ALTER TABLE "SigningKey" DROP COLUMN "state",
ALTER COLUMN "createdAt" DROP DEFAULT;

