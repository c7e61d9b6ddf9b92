// describeStartFailure on the errors node's listen() and connect() and pg give: one line naming the
// cause and the setting to change, or none for a bug. (Start-up failures of whole processes are in
// test/server.test.ts.)
import { randomBytes } from "node:crypto";
import net from "node:net";
import t from "tap";
import { ConfigError, KeyDecryptionError } from "../../src/errors/internal.js";
import { describeStartFailure } from "../../src/errors/start-failure.js";
import { applyMigrations } from "../../src/storage/migrate.js";
import { TEST_PROVIDER } from "../helpers/database.js";

const config = { host: "192.0.2.1", port: 8080, databaseUrl: "file:x.db" };

/** The error a real listen() fails with. */
function listenError(options: net.ListenOptions): Promise<Error> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", resolve);
    server.listen(options, () => server.close(() => reject(new Error(`listened on ${JSON.stringify(options)}`))));
  });
}

t.test("an address this machine does not have (a real listen on TEST-NET-1)", async (t) => {
  const error = await listenError({ host: "192.0.2.1", port: 0 });
  t.match(error, { code: "EADDRNOTAVAIL", syscall: "listen" });
  t.equal(describeStartFailure(error, config), "cannot listen on 192.0.2.1:8080: no such address on this machine (HOST)");
  t.equal(describeStartFailure(error), "cannot listen on the address: no such address on this machine (HOST)", "without the settings");
});

t.test("a port the process may not bind", async (t) => {
  // node's own error for it; a real one needs an unprivileged user, and the tests may run as root.
  const error = Object.assign(new Error("listen EACCES: permission denied 0.0.0.0:80"), { code: "EACCES", syscall: "listen", port: 80 });
  t.equal(
    describeStartFailure(error, { ...config, host: "0.0.0.0", port: 80 }),
    "cannot listen on 0.0.0.0:80: permission denied (PORT below 1024 needs privileges; PORT, HOST)",
  );
});

/** The error a real connect() fails with. */
function connectError(port: number, host: string): Promise<Error> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host, () => socket.destroy(new Error(`connected to ${host}:${port}`)));
    socket.once("error", (error) => (error.message.startsWith("connected") ? reject(error) : resolve(error)));
  });
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

t.test("a database that cannot be reached: where, as the address or the host name, and PostgreSQL only when the URL says so", async (t) => {
  const port = await closedPort();
  const refused = await connectError(port, "127.0.0.1");
  t.match(refused, { code: "ECONNREFUSED", address: "127.0.0.1", port });
  const pgConfig = { ...config, databaseUrl: "postgresql://tessera@db.example.test/tessera" };
  t.equal(describeStartFailure(refused, pgConfig), `cannot reach PostgreSQL at 127.0.0.1:${port} (ECONNREFUSED) (DATABASE_URL)`);
  t.equal(describeStartFailure(refused, config), `cannot reach the database at 127.0.0.1:${port} (ECONNREFUSED) (DATABASE_URL)`, "a file: URL");
  t.equal(describeStartFailure(refused), `cannot reach the database at 127.0.0.1:${port} (ECONNREFUSED) (DATABASE_URL)`, "without the settings (the CLI)");

  const unknownHost = await connectError(5432, "db.invalid"); // RFC 2606: never resolves
  t.match(unknownHost, { code: /^(ENOTFOUND|EAI_AGAIN)$/, hostname: "db.invalid" });
  t.match(describeStartFailure(unknownHost, pgConfig), /^cannot reach PostgreSQL at db\.invalid \((ENOTFOUND|EAI_AGAIN)\) \(DATABASE_URL\)$/);

  // Connecting to a name with several addresses fails with an AggregateError of one error per
  // address; one without a code of its own (as Promise.any makes) is described by its first.
  const both = new AggregateError([refused, await connectError(port, "127.0.0.1")], "all attempts failed");
  t.equal(describeStartFailure(both, pgConfig), `cannot reach PostgreSQL at 127.0.0.1:${port} (ECONNREFUSED) (DATABASE_URL)`);

  const timedOut = Object.assign(new Error("connect ETIMEDOUT"), { code: "ETIMEDOUT" }); // no address recorded
  t.equal(describeStartFailure(timedOut, pgConfig), "cannot reach PostgreSQL at the database (ETIMEDOUT) (DATABASE_URL)");
});

t.test("PostgreSQL refusing the credentials names DATABASE_URL and says why", async (t) => {
  // pg's error for a wrong password (SQLSTATE 28P01): a server with password authentication.
  const wrongPassword = Object.assign(new Error('password authentication failed for user "tessera"'), { code: "28P01", severity: "FATAL" });
  t.equal(describeStartFailure(wrongPassword, config), 'PostgreSQL refused the credentials (DATABASE_URL): password authentication failed for user "tessera"');
});

t.test("a PostgreSQL database that does not exist: create it first", async (t) => {
  // pg's error for a database name the server does not have (SQLSTATE 3D000); the PostgreSQL pass
  // meets the real one in test/server.test.ts.
  const missing = Object.assign(new Error('database "tessera_nowhere" does not exist'), { code: "3D000", severity: "FATAL" });
  t.equal(describeStartFailure(missing, config), 'database "tessera_nowhere" does not exist on the PostgreSQL server (DATABASE_URL); create it first (createdb)');
});

t.test("a PostgreSQL role that does not exist (a real connection)", { skip: TEST_PROVIDER !== "postgresql" && "run by the PostgreSQL pass" }, async (t) => {
  const url = new URL(process.env.DATABASE_URL!);
  url.username = `tessera_nobody_${randomBytes(4).toString("hex")}`;
  url.password = "";
  let error: unknown;
  await applyMigrations(url.toString()).catch((e: unknown) => (error = e));
  t.match(error, { code: "28000" });
  t.equal(describeStartFailure(error, config), `PostgreSQL refused the credentials (DATABASE_URL): role "${url.username}" does not exist`);
});

t.test("ConfigError and KeyDecryptionError are their own message; other errors without a known code are bugs", async (t) => {
  t.equal(describeStartFailure(new ConfigError("invalid configuration\n  PORT: must be a whole number"), config), "invalid configuration\n  PORT: must be a whole number");
  t.equal(describeStartFailure(new KeyDecryptionError("sealed key k1 does not open"), config), "sealed key k1 does not open");
  t.equal(describeStartFailure(Object.assign(new Error("listen EINVAL"), { code: "EINVAL", syscall: "listen" }), config), undefined, "a listen failure of another kind");
  t.equal(describeStartFailure(null), undefined);
  t.equal(describeStartFailure("a string"), undefined);
});
