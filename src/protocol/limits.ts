/**
 * Default bounds on what travels over a Sync stream. The hub states the limits it accepts in its
 * Welcome; the agent never exceeds them.
 */
export const DEFAULT_LIMITS = {
  /** gRPC's default receive limit is 4 MiB; a batch stays well below so one frame never hits it. */
  maxBatchBytes: 1024 * 1024,
  maxBatchChanges: 1000,
  /** The API server caps objects at about 1.5 MiB (etcd's request limit); bigger is reported and skipped. */
  maxObjectBytes: 1536 * 1024,
  /** Batches in flight per account before the agent waits for acknowledgements (and coalesces). */
  maxUnackedBatches: 4,
} as const;

/** gRPC message size limit configured on both ends: the largest batch plus headroom. */
export const GRPC_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/** Room the Session envelope around an operation or a result takes, besides its own bytes. */
const SESSION_ENVELOPE_BYTES = 64 * 1024;

/**
 * The largest operation (hub → agent) or operation result (agent → hub) one Session message may carry.
 * A bigger one is failed on its own (OPERATION_TOO_LARGE, OPERATION_RESULT_TOO_LARGE) instead of being
 * written: gRPC would refuse it and end the session, and with it every account of the agent.
 */
export const MAX_OPERATION_MESSAGE_BYTES = GRPC_MAX_MESSAGE_BYTES - SESSION_ENVELOPE_BYTES;

/**
 * Accounts one hello may declare, and elements (messages and list entries) one Session message may
 * hold: the hub refuses more (docs/security.md, "What a peer can cost the hub"). An agent with more
 * accounts, or accounts too large together, declares the rest in account updates after the welcome.
 */
export const MAX_ACCOUNTS_PER_HELLO = 5_000;
export const SESSION_MESSAGE_MAX_ELEMENTS = 150_000;
