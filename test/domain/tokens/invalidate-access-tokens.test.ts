// statusEntryOf: the entry a verified token's status claim names, only for this issuer's lists and
// well-formed claims (anything else is null: the token is blocklisted without a bit); and
// invalidateAccessTokens with nothing to do writes nothing.
import t from "tap";
import { invalidateAccessTokens, statusEntryOf } from "../../../src/domain/tokens/invalidate-access-tokens.js";
import { LIST_SIZE } from "../../../src/domain/tokens/status-index-allocator.js";
import { buildTestApp } from "../../helpers/app.js";

const ISSUER = "https://tessera.test";
const claim = (idx: unknown, uri: unknown) => ({ status: { status_list: { idx, uri } } });

t.test("the entry is list × 2^20 + idx", async (t) => {
  t.equal(statusEntryOf(ISSUER, claim(5, `${ISSUER}/statuslists/0`)), 5);
  t.equal(statusEntryOf(ISSUER, claim(7, `${ISSUER}/statuslists/3`)), 3 * LIST_SIZE + 7);
  t.equal(statusEntryOf(ISSUER, claim(LIST_SIZE - 1, `${ISSUER}/statuslists/2047`)), 2047 * LIST_SIZE + LIST_SIZE - 1);
});

t.test("anything else names no entry", async (t) => {
  const cases: [string, object][] = [
    ["no status claim", {}],
    ["no status_list", { status: {} }],
    ["idx not a number", claim("5", `${ISSUER}/statuslists/0`)],
    ["idx not an integer", claim(1.5, `${ISSUER}/statuslists/0`)],
    ["idx negative", claim(-1, `${ISSUER}/statuslists/0`)],
    ["idx past the list", claim(LIST_SIZE, `${ISSUER}/statuslists/0`)],
    ["uri not a string", claim(1, 7)],
    ["another issuer's list", claim(1, "https://elsewhere.test/statuslists/0")],
    ["list not a number", claim(1, `${ISSUER}/statuslists/x`)],
    ["list with a leading zero", claim(1, `${ISSUER}/statuslists/01`)],
    ["list past the last", claim(1, `${ISSUER}/statuslists/2048`)],
  ];
  for (const [why, claims] of cases) t.equal(statusEntryOf(ISSUER, claims), null, why);
});

t.test("no tokens: nothing written, the counter unmoved", async (t) => {
  const { app } = await buildTestApp(t);
  const version = async () => (await app.services.db.cacheVersion.findUnique({ where: { name: "status_lists" } }))?.version ?? 0;
  const before = await version();
  await invalidateAccessTokens(app.services, []);
  t.equal(await version(), before);
  await invalidateAccessTokens(app.services, [{ jti: "j", clientId: "c", expiresAt: new Date(app.services.clock.now() + 60_000), status: 9 }]);
  t.equal(await version(), before + 1, "a revocation moves it");
  t.same(await app.services.db.revokedAccessToken.findUnique({ where: { jti: "j" }, select: { status: true } }), { status: 9 });
});
