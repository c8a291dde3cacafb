/**
 * The wire protocol's major version. The hub refuses a hello with another major version; additions that
 * an older peer can ignore do not change it.
 */
export const PROTOCOL_VERSION = 1;

/** The package version, sent in the hello and shown by `--version`. */
export const SCALE_AGENT_VERSION = '0.1.0';
