// The logging the domain needs; pino's logger (Fastify's) fits it, so the domain needs no Fastify.
type LogFn = (obj: unknown, msg?: string) => void;
export type Logger = { trace: LogFn; info: LogFn; warn: LogFn; error: LogFn };
