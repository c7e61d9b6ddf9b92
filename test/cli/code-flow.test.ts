// The CLI for the authorization code flow, as real processes on a real database: `clients create
// --grant authorization_code --redirect-uri … --public`, and `grants list|revoke`, with the effect
// checked through an app on the same database.
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import t from "tap";
import { basic, buildTestApp, form } from "../helpers/app.js";
import { runCli, type CliRun } from "../helpers/cli.js";
import { SettableClock } from "../helpers/clock.js";
import { issueCode } from "../helpers/code-flow.js";
import { freshDatabaseUrl } from "../helpers/database.js";

const API = "https://api.example.test";
const CALLBACK = "https://app.example.test/callback";

// About ten real processes, each starting tsx and Prisma: on a busy machine more than the default 120 s.
t.setTimeout(300_000);

const url = await freshDatabaseUrl(t);
// On the system clock, as the CLI is: grants revoke blocklists the access tokens live by its clock.
const { app, createClient } = await buildTestApp(t, { DATABASE_URL: url }, new SettableClock(Date.now()));
const apiServer = await createClient({ canIntrospect: true, audiences: [API] });

function tessera(...args: string[]): Promise<CliRun> {
  const { NODE_OPTIONS: _instrumentation, ...env } = process.env;
  return runCli(args, {
    env: { ...env, DATABASE_URL: url, TESSERA_KEK: randomBytes(32).toString("base64"), TESSERA_KEK_FILE: path.join(os.tmpdir(), "tessera-unused-kek") },
  });
}

/** stderr without the line saying which database was opened (cli/db.ts). */
const errors = (run: CliRun) => run.stderr.replace(/^tessera: database .*\n/, "");

const introspect = async (token: string) =>
  (await app.inject({ method: "POST", url: "/introspect", headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(apiServer.clientId, apiServer.clientSecret) }, payload: form({ token }) })).json();

t.test("clients create --public --redirect-uri …: no secret, auth method none, and it exchanges codes with client_id alone", async (t) => {
  const run = await tessera(
    "clients", "create", "--name", "SPA", "--audience", API, "--scope", "read",
    "--grant", "authorization_code", "--grant", "refresh_token",
    "--redirect-uri", CALLBACK, "--redirect-uri", "http://127.0.0.1/callback", "--public", "--json",
  );
  t.equal(run.code, 0, run.stderr);
  const client = JSON.parse(run.stdout);
  t.notOk("client_secret" in client, "no secret printed: there is none");
  t.match(client, { client_name: "SPA", token_endpoint_auth_method: "none", public: true, grant_types: ["authorization_code", "refresh_token"] });
  t.strictSame(client.redirect_uris, [CALLBACK, "http://127.0.0.1/callback"]);

  await app.services.clients.refresh();
  const user = await app.services.users.create("alice", "alice-password-1");
  const issued = await issueCode(app, user.id, client.client_id, { redirectUri: "http://127.0.0.1:51000/callback", audience: [API], scope: ["read"] });
  const res = await app.inject({
    method: "POST",
    url: "/token",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    payload: form({ grant_type: "authorization_code", code: issued.code, code_verifier: issued.verifier, redirect_uri: "http://127.0.0.1:51000/callback", client_id: client.client_id }),
  });
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().scope, "read");

  const rotate = await tessera("clients", "rotate-secret", client.client_id);
  t.equal(rotate.code, 1);
  t.equal(errors(rotate), "tessera: public: a public client has no secret to rotate\n");
});

t.test("bad code-flow flags exit 1 with a message naming the flag, and register nothing", async (t) => {
  const before = (await app.services.clientAdmin.list()).length;
  const cases: [string[], string][] = [
    [["--grant", "authorization_code"], "tessera: redirect-uri: authorization_code needs at least one redirect URI (--redirect-uri)\n"],
    [["--grant", "authorization_code", "--redirect-uri", "http://app.example.test/cb"], "tessera: redirect-uri <http://app.example.test/cb>: http is allowed only on a loopback address (127.0.0.1, [::1] or localhost); use https\n"],
    [["--grant", "client_credentials", "--public"], "tessera: public: a public client (no secret) may use only authorization_code and refresh_token, not client_credentials\n"],
    [["--grant", "authorization_code", "--redirect-uri", CALLBACK, "--public", "--confidential"], "tessera: use --public or --confidential, not both\n"],
  ];
  const runs = await Promise.all(cases.map(([flags]) => tessera("clients", "create", "--name", "x", "--audience", API, ...flags)));
  runs.forEach((run, i) => {
    t.equal(run.code, 1, cases[i]![0].join(" "));
    t.equal(errors(run), cases[i]![1]);
  });
  t.equal((await app.services.clientAdmin.list()).length, before);
  const json = await tessera("clients", "create", "--name", "x", "--audience", API, "--grant", "authorization_code", "--redirect-uri", "https://a.example/#x", "--json");
  t.equal(json.code, 1);
  t.strictSame(JSON.parse(errors(json)), { error: "invalid_redirect_uri", error_description: "redirect-uri <https://a.example/#x>: must not contain a fragment (#)" }, "--json: the admin API's error code");
});

t.test("clients update --redirect-uri replaces the list; none empties it, which authorization_code refuses", async (t) => {
  const { clientId } = await createClient({ grantTypes: ["authorization_code"], redirectUris: [CALLBACK], audiences: [API] });
  const replaced = await tessera("clients", "update", clientId, "--redirect-uri", "com.example.app:/cb", "--json");
  t.equal(replaced.code, 0, replaced.stderr);
  t.strictSame(JSON.parse(replaced.stdout).redirect_uris, ["com.example.app:/cb"]);
  const emptied = await tessera("clients", "update", clientId, "--redirect-uri", "none");
  t.equal(emptied.code, 1);
  t.equal(errors(emptied), "tessera: redirect-uri: authorization_code needs at least one redirect URI (--redirect-uri)\n");
});

t.test("clients create|update --post-logout-redirect-uri: repeatable, validated, replaced, none clears it", async (t) => {
  const created = await tessera(
    "clients", "create", "--name", "RP", "--audience", API, "--grant", "authorization_code", "--redirect-uri", CALLBACK,
    "--post-logout-redirect-uri", "https://app.example.test/bye", "--post-logout-redirect-uri", "http://127.0.0.1/bye", "--json",
  );
  t.equal(created.code, 0, created.stderr);
  const client = JSON.parse(created.stdout);
  t.strictSame(client.post_logout_redirect_uris, ["https://app.example.test/bye", "http://127.0.0.1/bye"]);
  const [bad, replaced] = await Promise.all([
    tessera("clients", "update", client.client_id, "--post-logout-redirect-uri", "http://app.example.test/bye"),
    tessera("clients", "update", client.client_id, "--post-logout-redirect-uri", "com.example.app:/bye", "--json"),
  ]);
  t.equal(bad.code, 1);
  t.equal(errors(bad), "tessera: post-logout-redirect-uri <http://app.example.test/bye>: http is allowed only on a loopback address (127.0.0.1, [::1] or localhost); use https\n");
  t.equal(replaced.code, 0, replaced.stderr);
  t.strictSame(JSON.parse(replaced.stdout).post_logout_redirect_uris, ["com.example.app:/bye"]);
  const cleared = await tessera("clients", "update", client.client_id, "--post-logout-redirect-uri", "none", "--json");
  t.equal(cleared.code, 0, cleared.stderr);
  t.strictSame(JSON.parse(cleared.stdout).post_logout_redirect_uris, []);
  t.strictSame(JSON.parse(cleared.stdout).redirect_uris, [CALLBACK]);
});

t.test("grants list and revoke: the consent ends, and the tokens issued under it", async (t) => {
  const web = await createClient({ name: "Web", grantTypes: ["authorization_code", "refresh_token"], redirectUris: [CALLBACK], audiences: [API] });
  const bob = await app.services.users.create("bob", "bob-password-1");
  const issued = await issueCode(app, bob.id, web.clientId, { redirectUri: CALLBACK, audience: [API], scope: ["read"] });
  const tokens = (await app.inject({
    method: "POST",
    url: "/token",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(web.clientId, web.clientSecret) },
    payload: form({ grant_type: "authorization_code", code: issued.code, code_verifier: issued.verifier, redirect_uri: CALLBACK }),
  })).json();
  t.equal((await introspect(tokens.access_token)).active, true);

  const list = await tessera("grants", "list", "--user", "bob", "--json");
  t.equal(list.code, 0, list.stderr);
  const grants = JSON.parse(list.stdout);
  t.equal(grants.length, 1);
  t.match(grants[0], { id: issued.grantId, user_id: bob.id, client_id: web.clientId, client_name: "Web", scope: "read", audiences: [API] });

  const revoke = await tessera("grants", "revoke", "--user", "bob", "--client", web.clientId, "--json");
  t.equal(revoke.code, 0, revoke.stderr);
  t.strictSame(JSON.parse(revoke.stdout), { revoked: issued.grantId, refresh_families_revoked: 1, access_tokens_revoked: 1 });
  t.strictSame(await introspect(tokens.access_token), { active: false });
  const refresh = await app.inject({
    method: "POST",
    url: "/token",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(web.clientId, web.clientSecret) },
    payload: form({ grant_type: "refresh_token", refresh_token: tokens.refresh_token }),
  });
  t.equal(refresh.statusCode, 400);
  t.equal(refresh.json().error, "invalid_grant");

  const [again, byId, empty] = await Promise.all([
    tessera("grants", "revoke", "--user", "bob", "--client", web.clientId, "--json"),
    tessera("grants", "revoke", "--grant", issued.grantId),
    tessera("grants", "list", "--user", "bob", "--json"),
  ]);
  t.equal(again.code, 3, "nothing live to revoke: not found");
  t.strictSame(JSON.parse(errors(again)), { error: "not_found", error_description: `no live grant of user ${bob.id} to client ${web.clientId}` });
  t.equal(byId.code, 3);
  t.equal(errors(byId), `tessera: no live grant ${issued.grantId}\n`);
  t.strictSame(JSON.parse(empty.stdout), []);
});

t.test("grants revoke --grant GRANT_ID, and the usage", async (t) => {
  const web = await createClient({ grantTypes: ["authorization_code"], redirectUris: [CALLBACK], audiences: [API] });
  const carol = await app.services.users.create("carol", "carol-password-1");
  const grantId = await app.services.grants.recordConsent({ userId: carol.id, clientId: web.clientId, scope: [], audience: [API] });
  const [revoked, mixed, help] = await Promise.all([
    tessera("grants", "revoke", "--grant", grantId, "--json"),
    tessera("grants", "revoke", "--grant", grantId, "--user", "carol"),
    tessera("grants", "--help"),
  ]);
  t.equal(revoked.code, 0, revoked.stderr);
  t.strictSame(JSON.parse(revoked.stdout), { revoked: grantId, refresh_families_revoked: 0, access_tokens_revoked: 0 });
  t.equal(await app.services.grants.findGrant(carol.id, web.clientId), null);
  t.equal(mixed.code, 1);
  t.equal(errors(mixed), "tessera: use --grant alone, or --user with --client\n");
  t.equal(help.code, 0);
  t.match(help.stdout, /^tessera grants list --user USERNAME\ntessera grants revoke --user USERNAME --client CLIENT_ID\ntessera grants revoke --grant GRANT_ID\n/);
});
