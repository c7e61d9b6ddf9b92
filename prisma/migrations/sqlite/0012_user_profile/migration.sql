-- OpenID Connect: users' optional name and email (email_verified false until an admin says otherwise), and the
-- sign-in time a refresh family repeats as auth_time in ID tokens issued on refresh. Plain ADD COLUMNs (the
-- generator redefined the User table, which these do not need).
-- AlterTable
ALTER TABLE "RefreshFamily" ADD COLUMN "authTime" DATETIME;

-- AlterTable
ALTER TABLE "User" ADD COLUMN "name" TEXT;
ALTER TABLE "User" ADD COLUMN "email" TEXT;
ALTER TABLE "User" ADD COLUMN "emailVerified" BOOLEAN NOT NULL DEFAULT false;
