-- AlterTable. NULL marks the keys stored before this migration, whose tokens' expiry was never
-- recorded (key-states.ts falls back to the old rule).
ALTER TABLE "SigningKey" ADD COLUMN     "tokensExpireBy" TIMESTAMP(3);
