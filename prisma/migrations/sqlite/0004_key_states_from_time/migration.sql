-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_SigningKey" (
    "kid" TEXT NOT NULL PRIMARY KEY,
    "generation" INTEGER NOT NULL,
    "alg" TEXT NOT NULL,
    "publicJwk" TEXT NOT NULL,
    "privateKey" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL,
    "activatesAt" DATETIME NOT NULL,
    "retiredAt" DATETIME
);
INSERT INTO "new_SigningKey" ("activatesAt", "alg", "createdAt", "generation", "kid", "privateKey", "publicJwk", "retiredAt") SELECT "activatesAt", "alg", "createdAt", "generation", "kid", "privateKey", "publicJwk", "retiredAt" FROM "SigningKey";
DROP TABLE "SigningKey";
ALTER TABLE "new_SigningKey" RENAME TO "SigningKey";
CREATE UNIQUE INDEX "SigningKey_generation_key" ON "SigningKey"("generation");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

