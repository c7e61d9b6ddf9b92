// describeStartFailure on the errors node's listen() gives: one line naming the cause and the
// setting to change. (Start-up failures of whole processes are in test/server.test.ts.)
import net from "node:net";
import t from "tap";
import { describeStartFailure } from "../../src/errors/start-failure.js";

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
