// Process entry: load the configuration, build the app, listen, and close gracefully on a signal.
import { buildApp } from "./app.js";
import { loadConfig } from "./config/load.js";
import type { Config } from "./config/schema.js";

export async function serve(config: Config): Promise<void> {
  const app = await buildApp(config);
  await app.listen({ port: config.port, host: config.host });
  app.services.log.info({ issuer: config.issuer, kid: app.services.keys.signer?.kid }, "tessera is serving");
  const stop = async (signal: string) => {
    app.services.log.info({ signal }, "closing");
    await app.close();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

/** Exit with a one-line reason instead of a stack trace for the failures an operator can fix. */
export function exitOnStartFailure(error: unknown): never {
  const { name, message } = error as Error;
  if (name === "ConfigError" || name === "KeyDecryptionError") console.error(`tessera: ${message}`);
  else console.error(error);
  process.exit(1);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    await serve(loadConfig());
  } catch (error) {
    exitOnStartFailure(error);
  }
}
