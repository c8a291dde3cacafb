import { Errors, ScaleAgentError, errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { AssignmentStore, ReplicaStore } from '../store/types.ts';
import { replicaStatuses, type ReplicaStatus } from './replica-liveness.ts';

const MS_PER_SECOND = 1000;
/** A dead replica stays listed (as dead) this long after its last heartbeat; then its row is deleted. */
export const DEAD_REPLICA_RETENTION_MS = 60 * 60_000;
/** How often a replica deletes long-dead replicas' rows (any replica may; the DELETE is idempotent). */
const PRUNE_INTERVAL_MS = 5 * 60_000;

export interface ReplicaPresenceOptions {
  store: ReplicaStore & Pick<AssignmentStore, 'releaseReplica'>;
  hubId: string;
  /** How often the replica's row is refreshed (hub.heartbeatIntervalSeconds). */
  intervalMs: number;
  /** A row older than this belongs to a dead replica (hub.replicaDeadAfterSeconds). */
  deadAfterMs: number;
  /**
   * Set on SQLite: the database serves one hub, so joining while another replica's row is live is
   * refused. `database` names it in the message.
   */
  singleHub?: { database: string };
  logger: Logger;
  /** Milliseconds since the epoch (tests inject one). */
  clock?: () => number;
}

/**
 * This replica's row in the shared database: written when the hub starts, refreshed every interval,
 * removed when it stops cleanly (after giving up the accounts it caches). A replica that dies leaves its
 * row, which turns dead once the dead-after interval passes.
 */
export class ReplicaPresence {
  private readonly clock: () => number;
  private readonly startedAt: number;
  private restUrl: string | null = null;
  private grpcAddress: string | null = null;
  private timer: NodeJS.Timeout | undefined;
  /** The beat under way: beats never overlap, so a slow database does not pile them up. */
  private beating: Promise<void> | undefined;
  /** When this replica last deleted long-dead replicas' rows. */
  private prunedAt = 0;

  constructor(private readonly options: ReplicaPresenceOptions) {
    this.clock = options.clock ?? Date.now;
    this.startedAt = this.clock();
  }

  /**
   * Writes the replica's first heartbeat (a failure stops the start), refuses a second live replica on
   * SQLite, releases what a former run of this replica still held, and starts beating.
   */
  async join(): Promise<void> {
    const { store, hubId, logger } = this.options;
    await this.beat();
    // Checked after this replica's own beat: of two hubs starting together on one SQLite file (whose
    // writes are serialised), the later sees the earlier.
    if (this.options.singleHub !== undefined) await this.refuseAnotherLiveReplica(this.options.singleHub.database);
    // A former run of this replica (same id) that crashed cannot renew what it held: give it up now
    // rather than wait for its leases to run out, so this run's sessions can cache at once.
    const released = await store.releaseReplica(hubId);
    if (released > 0) logger.info({ hubId, released }, 'released the caching assignments a former run of this replica held');
    this.timer = setInterval(() => void this.beatLogged(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Records where the replica listens, once it does (operators read it in /health). */
  announce(restUrl: string, grpcAddress: string): Promise<void> {
    this.restUrl = restUrl;
    this.grpcAddress = grpcAddress;
    return this.beatLogged();
  }

  /** Every replica the database knows, judged live or dead now. */
  async list(): Promise<ReplicaStatus[]> {
    const records = await this.options.store.listReplicas();
    return replicaStatuses(records, this.options.hubId, this.clock(), this.options.deadAfterMs);
  }

  /** Stops beating, releases every caching assignment of this replica and removes its row. Never rejects. */
  async leave(): Promise<void> {
    const { store, hubId, logger } = this.options;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    try {
      const released = await store.releaseReplica(hubId);
      if (released > 0) logger.info({ hubId, released }, "released this replica's caching assignments; other replicas may take them over");
    } catch (err) {
      logger.warn({ hubId, err: errorMessage(err) }, "cannot release this replica's caching assignments; their leases run out instead");
    }
    try {
      await store.removeReplica(hubId);
    } catch (err) {
      logger.warn({ hubId, err: errorMessage(err) }, "cannot remove this replica's row; it turns dead after hub.replicaDeadAfterSeconds");
    }
  }

  private async beat(): Promise<void> {
    const { hubId, store, logger } = this.options;
    const now = this.clock();
    await store.heartbeat({ hubId, startedAt: this.startedAt, restUrl: this.restUrl, grpcAddress: this.grpcAddress }, now);
    if (now - this.prunedAt < PRUNE_INTERVAL_MS) return;
    this.prunedAt = now;
    // Pods come and go under new ids: without this, /health would list every replica that ever ran.
    const pruned = await store.pruneReplicas(now - DEAD_REPLICA_RETENTION_MS);
    if (pruned > 0) logger.info({ pruned }, `deleted the rows of hub replicas silent for over ${DEAD_REPLICA_RETENTION_MS / 60_000} minutes`);
  }

  /** A beat whose failure is logged (the next one tries again); joins the beat under way if any. */
  private beatLogged(): Promise<void> {
    if (this.beating !== undefined) return this.beating;
    this.beating = this.beat()
      .catch((err: unknown) => this.options.logger.warn({ hubId: this.options.hubId, err: errorMessage(err) }, 'replica heartbeat failed; retrying'))
      .finally(() => {
        this.beating = undefined;
      });
    return this.beating;
  }

  private async refuseAnotherLiveReplica(database: string): Promise<void> {
    const { store, hubId, deadAfterMs } = this.options;
    // Another process with this very id cannot be told from a former run of this replica: ids are unique per running replica.
    const other = (await this.list()).find((r) => r.live && !r.self);
    if (other === undefined) return;
    await store.removeReplica(hubId).catch(() => undefined);
    const silentSeconds = Math.max(0, Math.round((this.clock() - other.heartbeatAt) / MS_PER_SECOND));
    throw new ScaleAgentError(
      Errors.CONFIG_INVALID,
      `SQLite serves one hub, and hub replica "${other.hubId}" (started ${new Date(other.startedAt).toISOString()}, last heartbeat ${silentSeconds} s ago) ` +
        `is live on ${database}. Stop it first, or run several hub replicas on PostgreSQL or MySQL (database.url). ` +
        `A replica that stopped without removing its row counts as dead ${deadAfterMs / MS_PER_SECOND} s after its last heartbeat (hub.replicaDeadAfterSeconds).`,
      { key: 'database.url', otherReplica: other.hubId },
    );
  }
}
