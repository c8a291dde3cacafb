import { errorMessage } from '../../../common/errors.ts';
import type { ReplicaStatus } from '../../replicas/replica-liveness.ts';
import type { AccountFeedState, AccountRecord, OperationRecord, StoreHealth, StoreReader } from '../../store/types.ts';
import { withinPingTimeout } from '../routes/health-routes.ts';
import type { ReplicaListing } from '../routes/route-context.ts';

/**
 * How long one read of the status page's data serves every viewer. Each open page polls (every 2 s, or
 * 10 s for a large hub); at 1,000 accounts × 22 kinds one read costs about 0.1 s of the event loop on
 * SQLite (its driver is synchronous), so without sharing, every open tab would add that again.
 */
export const STATUS_SNAPSHOT_TTL_MS = 2_000;

/** The newest operations hub-wide the snapshot holds: the page's list, for callers who may read every account. */
export const STATUS_OPERATIONS_SHOWN = 25;

/** The status page's expensive reads, unfiltered: taken once per STATUS_SNAPSHOT_TTL_MS and narrowed per caller. */
export interface StatusSnapshot {
  database: { status: 'UP' } | { status: 'DOWN'; error: string };
  replicas: ReplicaStatus[];
  /** Every account row and feed state: empty while the database does not answer. */
  accounts: AccountRecord[];
  feeds: AccountFeedState[];
  /** The newest STATUS_OPERATIONS_SHOWN operations hub-wide. */
  operations: OperationRecord[];
}

export interface StatusSnapshotOptions {
  /** The store as it is (never the caller-filtered one: the snapshot is shared by every caller). */
  store: Pick<StoreReader, 'listAccounts' | 'listFeedStates' | 'listOperations'>;
  /** The database check of GET /health. */
  health: StoreHealth;
  replicas?: ReplicaListing;
  ttlMs?: number;
  clock?: () => number;
}

/**
 * The status page's shared reads (accounts, feed states, the newest operations, replicas, the database
 * ping): one read serves every poll for `ttlMs` after it completes, and polls that arrive while it runs
 * wait for it rather than starting their own (single flight). A database that does not answer is a
 * snapshot too (DOWN), kept as long, so that open pages do not pile pings onto a failing database.
 */
export class StatusSnapshots {
  private latest: { snapshot: StatusSnapshot; at: number } | undefined;
  private reading: Promise<StatusSnapshot> | undefined;
  private readonly ttlMs: number;
  private readonly clock: () => number;

  constructor(private readonly options: StatusSnapshotOptions) {
    this.ttlMs = options.ttlMs ?? STATUS_SNAPSHOT_TTL_MS;
    this.clock = options.clock ?? Date.now;
  }

  get(): Promise<StatusSnapshot> {
    const latest = this.latest;
    if (latest !== undefined && this.clock() - latest.at < this.ttlMs) return Promise.resolve(latest.snapshot);
    this.reading ??= this.read().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async read(): Promise<StatusSnapshot> {
    let snapshot: StatusSnapshot;
    try {
      const replicas = await withinPingTimeout(async () => {
        await this.options.health.ping();
        return (await this.options.replicas?.list()) ?? [];
      });
      const { store } = this.options;
      const [accounts, feeds, operations] = await Promise.all([store.listAccounts(), store.listFeedStates(), store.listOperations(STATUS_OPERATIONS_SHOWN)]);
      snapshot = { database: { status: 'UP' }, replicas, accounts, feeds, operations };
    } catch (err) {
      snapshot = { database: { status: 'DOWN', error: errorMessage(err) }, replicas: [], accounts: [], feeds: [], operations: [] };
    }
    this.latest = { snapshot, at: this.clock() };
    return snapshot;
  }
}
