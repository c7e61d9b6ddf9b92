// Failures that are not the caller's fault and never reach a client as-is.

/** A setting is missing or invalid; the message names the environment variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** A sealed private key does not open: the key-encryption key is not the one it was sealed with. */
export class KeyDecryptionError extends Error {
  override readonly name = "KeyDecryptionError";
}

/** Bad input to a management operation (CLI, later the admin API): names the field at fault. */
export class ValidationError extends Error {
  override readonly name = "ValidationError";
}

/** The record to change does not exist. */
export class NotFoundError extends Error {
  override readonly name = "NotFoundError";
}
