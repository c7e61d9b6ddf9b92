// @tessera/resource-server: the Fastify plugin (default export) and the framework-free verifier.
import plugin from "./plugin.js";

export default plugin;
export { plugin as resourceServer };
export type { ResourceServerOptions } from "./plugin.js";
export { createVerifier, type AccessTokenClaims, type Verifier, type VerifierOptions, type VerifyOptions } from "./verifier.js";
export { DEFAULT_DPOP_ALGORITHMS, type DpopRequest } from "./dpop.js";
export { AccessTokenError, type AccessTokenErrorCode } from "./errors.js";
export { metadataUrl, type AuthorizationServerMetadata } from "./discovery.js";
export { decodeStatusList, DecodedStatusList, type StatusListBits } from "./status-list.js";
