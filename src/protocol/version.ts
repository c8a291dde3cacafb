/**
 * The highest wire protocol version this build speaks. Version 2 carries every account's sync channel
 * on one SharedSync stream per session; version 1 opens one Sync stream per account.
 */
export const PROTOCOL_VERSION = 2;

/**
 * The oldest version the hub still accepts: agents in third-party clusters upgrade late, so a hub keeps
 * speaking the previous version for at least one release.
 */
export const MIN_PROTOCOL_VERSION = 1;

/** The protocol versions this build speaks, oldest first. */
export type ProtocolVersion = 1 | 2;

/**
 * The version a session speaks when the agent offers `offered` (its highest): the lower of the two
 * sides', or undefined when the agent's is older than this hub still speaks. An agent newer than the hub
 * speaks the hub's version (a newer agent also speaks every version down to its own minimum).
 */
export function negotiatedProtocolVersion(offered: number): ProtocolVersion | undefined {
  if (!Number.isInteger(offered) || offered < MIN_PROTOCOL_VERSION) return undefined;
  return Math.min(offered, PROTOCOL_VERSION) as ProtocolVersion;
}

/** The package version, sent in the hello and shown by `--version`. */
export const SCALE_AGENT_VERSION = '0.1.0';
