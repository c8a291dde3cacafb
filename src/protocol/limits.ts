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
