// The app's error handler (src/http/plugins/error-handler.ts) on its own, for what tessera's routes
// do not raise today: an OAuth error without a description. RFC 6749 §5.2 makes error_description
// optional, so the answer is the code alone.
import Fastify from "fastify";
import t from "tap";
import { InvalidGrant, InvalidRequest } from "../../src/errors/oauth.js";
import errorHandler from "../../src/http/plugins/error-handler.js";
import { expectOAuthError } from "../helpers/oauth.js";

t.test("an OAuth error without a description: the error code alone, no error_description member", async (t) => {
  const app = Fastify();
  t.teardown(() => app.close());
  await app.register(errorHandler);
  app.get("/bare", async () => {
    throw new InvalidGrant();
  });
  app.get("/described", async () => {
    throw new InvalidRequest("a description");
  });
  const bare = await app.inject({ method: "GET", url: "/bare" });
  expectOAuthError(t, bare, 400, "invalid_grant");
  t.same(bare.json(), { error: "invalid_grant" });
  const described = await app.inject({ method: "GET", url: "/described" });
  t.same(described.json(), { error: "invalid_request", error_description: "a description" });
});
