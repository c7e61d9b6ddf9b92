// POST /token client authentication: client_secret_basic and client_secret_post (RFC 6749 §2.3.1),
// and every way it can fail (invalid_client, RFC 6749 §5.2).
import t from "tap";
import { decodeJwt } from "jose";
import { basic, buildTestApp, form } from "../../helpers/app.js";
import { expectOAuthError, FORM } from "../../helpers/oauth.js";

const { app, createClient } = await buildTestApp(t);

type Creds = { clientId: string; clientSecret: string };

/** POST /token with the given headers (form content type added) and parameters. */
const post = (params: Record<string, string | string[]>, headers: Record<string, string> = {}) =>
  app.inject({ method: "POST", url: "/token", headers: { ...FORM, ...headers }, payload: form(params) });

const GRANT = { grant_type: "client_credentials" };
const basicRaw = (decoded: string) => `Basic ${Buffer.from(decoded, "utf8").toString("base64")}`;
/** Every character as %XX: what a client that form-encodes everything sends (RFC 6749 §2.3.1). */
const percentAll = (value: string, lower = false) =>
  [...Buffer.from(value, "utf8")].map((b) => `%${b.toString(16).padStart(2, "0")[lower ? "toLowerCase" : "toUpperCase"]()}`).join("");

t.test("successful authentication", async (t) => {
  t.test("client_secret_basic", async (t) => {
    const { clientId, clientSecret } = await createClient();
    const res = await post(GRANT, { authorization: basic(clientId, clientSecret) });
    t.equal(res.statusCode, 200);
    t.equal(res.headers["cache-control"], "no-store");
    t.equal(decodeJwt(res.json().access_token).client_id, clientId);
  });

  t.test("client_secret_post", async (t) => {
    const { clientId, clientSecret } = await createClient();
    const res = await post({ ...GRANT, client_id: clientId, client_secret: clientSecret });
    t.equal(res.statusCode, 200);
    t.equal(res.headers["cache-control"], "no-store");
    t.equal(decodeJwt(res.json().access_token).client_id, clientId);
  });

  t.test("the Basic scheme name is case-insensitive (RFC 9110 §11.1)", async (t) => {
    const { clientId, clientSecret } = await createClient();
    const token = basic(clientId, clientSecret).slice("Basic ".length);
    for (const scheme of ["basic", "BASIC"]) {
      const res = await post(GRANT, { authorization: `${scheme} ${token}` });
      t.equal(res.statusCode, 200, scheme);
      t.equal(res.json().access_token && decodeJwt(res.json().access_token).sub, clientId, scheme);
    }
  });

  t.test("Basic credentials are form-decoded: every character sent as %XX still authenticates", async (t) => {
    const { clientId, clientSecret } = await createClient();
    const upper = await post(GRANT, { authorization: basicRaw(`${percentAll(clientId)}:${percentAll(clientSecret)}`) });
    t.equal(upper.statusCode, 200, "upper-case hex");
    t.equal(upper.json().access_token && decodeJwt(upper.json().access_token).sub, clientId);
    const lower = await post(GRANT, { authorization: basicRaw(`${percentAll(clientId, true)}:${percentAll(clientSecret, true)}`) });
    t.equal(lower.statusCode, 200, "lower-case hex");
  });

  t.test("Basic credentials sent without form-encoding (the common case) authenticate", async (t) => {
    const { clientId, clientSecret } = await createClient();
    const res = await post(GRANT, { authorization: basicRaw(`${clientId}:${clientSecret}`) });
    t.equal(res.statusCode, 200);
  });

  t.test("Basic plus a client_id in the body that matches it", async (t) => {
    const { clientId, clientSecret } = await createClient();
    const res = await post({ ...GRANT, client_id: clientId }, { authorization: basic(clientId, clientSecret) });
    t.equal(res.statusCode, 200);
    t.equal(res.json().access_token && decodeJwt(res.json().access_token).sub, clientId);
  });

  t.test("the body client_id is compared with the form-decoded Basic client_id", async (t) => {
    const { clientId, clientSecret } = await createClient();
    const res = await post({ ...GRANT, client_id: clientId }, { authorization: basicRaw(`${percentAll(clientId)}:${clientSecret}`) });
    t.equal(res.statusCode, 200);
  });

  // tessera's generated credentials never contain '+' or a space, so the '+' → space rule is observed
  // through the client_id cross-check: decoded, "a+b" equals the body's "a b" and the request reaches
  // authentication (401 unknown client) instead of failing the cross-check (400).
  t.test("'+' and %20 in Basic credentials decode to a space", async (t) => {
    for (const encoded of ["no+such+client", "no%20such%20client"]) {
      const res = await post({ ...GRANT, client_id: "no such client" }, { authorization: basicRaw(`${encoded}:secret`) });
      expectOAuthError(t, res, 401, "invalid_client");
    }
  });
});

t.test("unknown client, wrong secret and disabled client all answer the same invalid_client", async (t) => {
  const good = await createClient();
  const disabled = await createClient();
  await app.services.clientAdmin.disable(disabled.clientId);
  const other = await createClient();
  const cases: Record<string, Creds> = {
    "unknown client": { clientId: "no-such-client-aaaaaaaaaaaaa", clientSecret: good.clientSecret },
    "wrong secret": { clientId: good.clientId, clientSecret: `${good.clientSecret.slice(0, -1)}${good.clientSecret.endsWith("x") ? "y" : "x"}` },
    "another client's secret": { clientId: good.clientId, clientSecret: other.clientSecret },
    "disabled client": disabled,
  };

  for (const method of ["client_secret_basic", "client_secret_post"] as const) {
    t.test(method, async (t) => {
      const answers: Array<{ status: number; body: string; challenge: unknown }> = [];
      for (const [name, creds] of Object.entries(cases)) {
        const res =
          method === "client_secret_basic"
            ? await post(GRANT, { authorization: basic(creds.clientId, creds.clientSecret) })
            : await post({ ...GRANT, client_id: creds.clientId, client_secret: creds.clientSecret });
        t.test(name, async (t) => expectOAuthError(t, res, 401, "invalid_client"));
        answers.push({ status: res.statusCode, body: res.body, challenge: res.headers["www-authenticate"] });
      }
      for (const answer of answers.slice(1)) t.same(answer, answers[0], "identical status, body and challenge");
    });
  }
});

t.test("malformed Basic authorization headers answer invalid_client", async (t) => {
  const { clientId, clientSecret } = await createClient();
  const variants: Record<string, string> = {
    "not base64": "Basic !!!not-base64!!!",
    "no colon": basicRaw(clientId),
    "empty credentials": "Basic ",
    "scheme only": "Basic",
    "empty header": "",
    "empty client_id": basicRaw(`:${clientSecret}`),
    "empty secret": basicRaw(`${clientId}:`),
    "bad percent-encoding": basicRaw(`${clientId}%zz:${clientSecret}`),
    "wrong scheme (Bearer)": `Bearer ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`,
    "wrong scheme (Digest)": `Digest username="${clientId}"`,
    "extra token after the credentials": `${basic(clientId, clientSecret)} extra`,
  };
  for (const [name, authorization] of Object.entries(variants)) {
    t.test(name, async (t) => expectOAuthError(t, await post(GRANT, { authorization }), 401, "invalid_client"));
  }
});

t.test("missing credentials answer invalid_client", async (t) => {
  const { clientId, clientSecret } = await createClient();

  t.test("no credentials at all", async (t) => {
    expectOAuthError(t, await post(GRANT), 401, "invalid_client");
  });

  t.test("client_id without a secret, of a confidential client (none is for public clients only)", async (t) => {
    expectOAuthError(t, await post({ ...GRANT, client_id: clientId }), 401, "invalid_client");
  });

  t.test("client_secret without a client_id", async (t) => {
    expectOAuthError(t, await post({ ...GRANT, client_secret: clientSecret }), 401, "invalid_client");
  });
});

t.test("mixing authentication methods answers invalid_request (RFC 6749 §2.3)", async (t) => {
  const { clientId, clientSecret } = await createClient();
  const other = await createClient();

  t.test("Basic header and client_secret in the body", async (t) => {
    const res = await post({ ...GRANT, client_id: clientId, client_secret: clientSecret }, { authorization: basic(clientId, clientSecret) });
    expectOAuthError(t, res, 400, "invalid_request");
  });

  t.test("Basic header and client_secret, without client_id, in the body", async (t) => {
    const res = await post({ ...GRANT, client_secret: clientSecret }, { authorization: basic(clientId, clientSecret) });
    expectOAuthError(t, res, 400, "invalid_request");
  });

  t.test("client_id in the body that does not match the Basic header", async (t) => {
    const res = await post({ ...GRANT, client_id: other.clientId }, { authorization: basic(clientId, clientSecret) });
    expectOAuthError(t, res, 400, "invalid_request");
  });
});

// RFC 6749 §3.2: "Parameters sent without a value MUST be treated as if they were omitted".
t.test("an empty client_secret next to a Basic header counts as omitted", async (t) => {
  const { clientId, clientSecret } = await createClient();
  const res = await post({ ...GRANT, client_secret: "" }, { authorization: basic(clientId, clientSecret) });
  t.equal(res.statusCode, 200);
  t.equal(res.json().error, undefined);
});
