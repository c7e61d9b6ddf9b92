-- OpenID Connect: users' optional name and email (email_verified false until an admin says otherwise), and the
-- sign-in time a refresh family repeats as auth_time in ID tokens issued on refresh.
-- AlterTable
ALTER TABLE "RefreshFamily" ADD COLUMN     "authTime" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "User" ADD COLUMN     "email" TEXT,
ADD COLUMN     "emailVerified" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "name" TEXT;

