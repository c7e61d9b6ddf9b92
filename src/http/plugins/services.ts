// Makes the services built by buildApp reachable from routes, and closes them with the app.
import fp from "fastify-plugin";
import type { Services } from "../../domain/services.js";

declare module "fastify" {
  interface FastifyInstance {
    services: Services;
  }
}

export default fp<{ services: Services }>(
  async (app, { services }) => {
    app.decorate("services", services);
    app.addHook("onClose", () => services.close());
  },
  { name: "services" },
);
