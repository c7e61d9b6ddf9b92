// What the domain reports for monitoring. The Prometheus implementation lives with the HTTP layer
// (http/plugins/metrics.ts); the CLI and tests that do not care pass NO_METRICS.
export type Metrics = {
  tokenIssued(grantType: string, clientId: string): void;
  refreshReuseDetected(): void;
  keyCreated(): void;
};

export const NO_METRICS: Metrics = { tokenIssued() {}, refreshReuseDetected() {}, keyCreated() {} };
