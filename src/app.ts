// buildApp(config): every plugin and route, registered explicitly. The services (database, clients,
// keys) are made here and closed with the app.
import formbody from "@fastify/formbody";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RouteOptions } from "fastify";
import { pino, type DestinationStream } from "pino";
import type { Config } from "./config/schema.js";
import { systemClock, type Clock } from "./domain/clock.js";
import { NO_METRICS } from "./domain/metrics.js";
import { createServices } from "./domain/services.js";
import { prometheusMetrics } from "./http/metrics.js";
import { parseForm } from "./http/form.js";
import { loggerOptions, logRequestBodies } from "./http/logger.js";
import cors from "./http/plugins/cors.js";
import errorHandler, { clientErrorHandler, frameworkErrorHandler } from "./http/plugins/error-handler.js";
import metricsPlugin from "./http/plugins/metrics.js";
import openapi from "./http/plugins/openapi.js";
import rateLimits from "./http/plugins/rate-limits.js";
import requestStart from "./http/plugins/request-start.js";
import servicesPlugin from "./http/plugins/services.js";
import { EXPECTED } from "./http/schemas/expected.js";
import admin from "./http/routes/admin/index.js";
import authorize from "./http/routes/authorize.js";
import endSession from "./http/routes/end-session.js";
import firstParty from "./http/routes/first-party.js";
import health from "./http/routes/health.js";
import introspection from "./http/routes/introspection.js";
import jwks from "./http/routes/jwks.js";
import metadata from "./http/routes/metadata.js";
import par from "./http/routes/par.js";
import revocation from "./http/routes/revocation.js";
import statusLists from "./http/routes/status-lists.js";
import token from "./http/routes/token.js";
import userinfo from "./http/routes/userinfo.js";

export type AppOptions = {
  clock?: Clock;
  /** Where logs go (tests capture them); stdout by default. */
  logStream?: DestinationStream;
  /** Told of every route as it is added (tests compare the routes with /openapi.json). */
  onRoute?: (route: RouteOptions) => void;
};

export async function buildApp(config: Config, options: AppOptions = {}): Promise<FastifyInstance> {
  const log = pino(loggerOptions(config.logLevel), options.logStream);
  // Fastify's request logging (two lines per request, a child logger and two response listeners
  // each, ~2 µs of every request) only when asked for with debug or trace. The app logs through
  // services.log either way.
  const requestLogging = config.logLevel === "debug" || config.logLevel === "trace";
  const https = config.issuer.startsWith("https:");
  const app = Fastify({
    ...(requestLogging ? { loggerInstance: log as FastifyBaseLogger } : { logger: false }),
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    // Graceful close (server.ts): idle keep-alive connections are closed at once; a request that
    // arrives while closing gets request-start's OAuth-shaped 503, not Fastify's own body.
    forceCloseConnections: "idle",
    return503OnClosing: false,
    // Node would answer a request without Host with a bare 400; the error handler answers it instead.
    http: { requireHostHeader: false },
    clientErrorHandler: clientErrorHandler(https),
    frameworkErrors: frameworkErrorHandler(https),
    // Form fields and JSON arrive as given: a repeated parameter must fail, not be coerced.
    // EXPECTED: schemas may say in words what they expect (schemas/expected.ts writes the errors).
    ajv: { customOptions: { coerceTypes: false, removeAdditional: true, allErrors: false, keywords: [EXPECTED] } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  if (options.onRoute) app.addHook("onRoute", options.onRoute);

  const metrics = config.metrics ? prometheusMetrics() : null;
  app.decorate("metrics", metrics);
  const services = await createServices(config, options.clock ?? systemClock, log, metrics ?? NO_METRICS);
  await app.register(servicesPlugin, { services });
  await app.register(openapi); // before every route: it learns of them as they are added
  await app.register(errorHandler);
  // After the error handler: a route takes the error handler of when it is added (/metrics's 401).
  if (metrics) await app.register(metricsPlugin, { metrics });
  await app.register(requestStart, { https });
  if (config.logLevel === "trace") logRequestBodies(app);
  await app.register(formbody, { parser: parseForm });
  await app.register(rateLimits, { config });
  await app.register(cors, { origins: config.corsOrigins });

  await app.register(token);
  await app.register(revocation);
  await app.register(introspection);
  await app.register(userinfo);
  await app.register(firstParty);
  await app.register(authorize);
  await app.register(par);
  await app.register(endSession);
  await app.register(admin);
  await app.register(jwks);
  await app.register(statusLists);
  await app.register(metadata);
  await app.register(health);
  return app;
}
