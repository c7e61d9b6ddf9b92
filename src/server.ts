// Process entry: load the configuration, build the app, listen, and close gracefully on a signal.
import fs from "node:fs";
import net from "node:net";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { buildApp } from "./app.js";
import { defaultIssuer, loadConfig } from "./config/load.js";
import type { Config } from "./config/schema.js";
import { describeStartFailure } from "./errors/start-failure.js";

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/**
 * A free port on `host`, held while the app is built (its issuer must name the port) and released
 * just before the app listens on it: a window of one event-loop turn, where another process taking
 * the port ends the start with "port in use" rather than a wrong issuer.
 */
function reservePort(host: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen({ host, port: 0, exclusive: true }, () => resolve(server));
  });
}

/** Exit with a one-line reason instead of a stack trace for the failures an operator can fix. */
export function exitOnStartFailure(error: unknown, config?: Pick<Config, "host" | "port" | "databaseUrl">): never {
  const line = describeStartFailure(error, config);
  if (line) console.error(`tessera: ${line}`);
  else console.error(error);
  process.exit(1);
}

/**
 * Builds the app and listens. With the issuer derived from HOST and PORT (TESSERA_ISSUER unset) and
 * PORT=0, the port is bound first, so the issuer, metadata and tokens name the port actually used.
 */
export async function listen(config: Config): Promise<FastifyInstance> {
  const derived = config.issuer === defaultIssuer(config.host, config.port);
  let reserved: net.Server | undefined;
  if (derived && config.port === 0) {
    reserved = await reservePort(config.host);
    const { port } = reserved.address() as net.AddressInfo;
    config = Object.freeze({ ...config, port, issuer: defaultIssuer(config.host, port) });
  }
  let app: FastifyInstance;
  try {
    app = await buildApp(config);
  } catch (error) {
    reserved?.close();
    throw error;
  }
  const { log } = app.services;
  try {
    if (reserved) await new Promise((resolve) => reserved.close(resolve));
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await app.close();
    throw error;
  }
  if (derived && !LOOPBACK.test(config.host)) {
    log.warn({ issuer: config.issuer }, "TESSERA_ISSUER is not set: the issuer is derived from HOST and PORT. Set it to the URL clients use; instances behind one name need the same TESSERA_ISSUER");
  }
  const address = app.server.address() as net.AddressInfo;
  const bound = address.family === "IPv6" ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
  log.info({ address: bound, issuer: config.issuer, kid: app.services.keys.signer?.kid }, `tessera is serving on ${bound}`);
  return app;
}

export async function serve(config: Config): Promise<void> {
  let app: FastifyInstance;
  try {
    app = await listen(config);
  } catch (error) {
    exitOnStartFailure(error, config);
  }
  const stop = async (signal: string) => {
    const { log } = app.services;
    log.info({ signal, timeoutSeconds: config.shutdownTimeoutSeconds }, "closing: answering the requests already received");
    // SHUTDOWN_TIMEOUT bounds the wait: then the connections still open are cut, and the exit
    // code (1) says that some requests went unanswered.
    let cut = false;
    const timer = setTimeout(() => {
      cut = true;
      log.warn({ timeoutSeconds: config.shutdownTimeoutSeconds }, "requests still open after SHUTDOWN_TIMEOUT; closing their connections");
      app.server.closeAllConnections();
      setTimeout(() => process.exit(1), 2000).unref();
    }, config.shutdownTimeoutSeconds * 1000);
    timer.unref();
    try {
      await app.close();
      // Coverage: app.close() rejects only when a close hook does (the database driver's disconnect),
      // which no test can make happen in a running server process without changing its code.
      /* c8 ignore start */
    } catch (error) {
      log.error({ err: error }, "error while closing");
      process.exit(1);
    }
    /* c8 ignore stop */
    log.info({}, "closed");
    process.exit(cut ? 1 : 0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

/** True when this module is the process's entry point, however it was reached (symlink, space, %). */
function isMain(): boolean {
  if (!process.argv[1]) return false;
  try {
    return fs.realpathSync(fileURLToPath(import.meta.url)) === fs.realpathSync(process.argv[1]);
  } catch {
    return false;
  }
}

if (isMain()) {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    exitOnStartFailure(error);
  }
  await serve(config);
}
