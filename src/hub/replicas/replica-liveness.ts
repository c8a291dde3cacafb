import type { ReplicaRecord } from '../store/types.ts';

/** A replica as /health shows it: its row, judged live or dead against the dead-after interval. */
export interface ReplicaStatus {
  hubId: string;
  startedAt: number;
  heartbeatAt: number;
  restUrl: string | null;
  grpcAddress: string | null;
  /** Heard from within the dead-after interval. */
  live: boolean;
  /** The replica answering. */
  self: boolean;
}

/**
 * Whether a replica counts as alive at `now`: its last heartbeat is younger than `deadAfterMs`. The
 * clocks of the replicas are compared here (each stamps its own beats), so they must agree to well
 * within the interval (NTP does).
 */
export function isLive(record: Pick<ReplicaRecord, 'heartbeatAt'>, now: number, deadAfterMs: number): boolean {
  return now - record.heartbeatAt < deadAfterMs;
}

/** The replicas' rows as statuses, live first, then by id. */
export function replicaStatuses(records: readonly ReplicaRecord[], selfId: string, now: number, deadAfterMs: number): ReplicaStatus[] {
  return records
    .map((r) => ({
      hubId: r.hubId,
      startedAt: r.startedAt,
      heartbeatAt: r.heartbeatAt,
      restUrl: r.restUrl,
      grpcAddress: r.grpcAddress,
      live: isLive(r, now, deadAfterMs),
      self: r.hubId === selfId,
    }))
    .sort((a, b) => Number(b.live) - Number(a.live) || a.hubId.localeCompare(b.hubId));
}
