-- AlterTable: the status-list entry of the access token a code issued (revoking it sets its bit)
ALTER TABLE "AuthorizationCode" ADD COLUMN     "accessTokenStatus" INTEGER;

