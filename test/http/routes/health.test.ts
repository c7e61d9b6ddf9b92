import t from "tap";
import { buildTestApp } from "../../helpers/app.js";

t.test("/healthz answers 200 while the process runs", async (t) => {
  const { app } = await buildTestApp(t);
  const res = await app.inject({ method: "GET", url: "/healthz" });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { status: "ok" });
});

t.test("/readyz answers 200 ready when the database answers and a key can sign", async (t) => {
  const { app } = await buildTestApp(t);
  t.ok(app.services.keys.signer, "an active key exists after start");
  const res = await app.inject({ method: "GET", url: "/readyz" });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { status: "ready" });
  t.equal(res.headers["cache-control"], "no-store");
});
