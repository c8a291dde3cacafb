import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { Errors } from '../common/errors.ts';
import { accountFreshness } from './account-freshness.ts';
import type { TaskObserver, TaskRunResult } from './api/ops/task-runner.ts';
import type { RequestObserver } from './api/request-observer.ts';
import type { IngestMetrics } from './grpc/sync-handler.ts';
import type { SessionRegistry } from './grpc/session-registry.ts';
import type { ReplicaStatus } from './replicas/replica-liveness.ts';
import type { OperationObserver, OperationOutcome, OperationRequest } from './router/types.ts';
import type { AccountState } from './store/types.ts';

/** Operations and tasks: a read answers in milliseconds, a delete that waits, or a deadline, takes up to minutes. */
const OPERATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** REST requests: reads of the cache answer in milliseconds; large searches and ops submissions in seconds. */
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** A scrape reads the accounts once for the gauges that need them; a scrape takes far less than this. */
const ACCOUNTS_SNAPSHOT_TTL_MS = 1000;
/** The `code` of a failure whose code is not in the catalogue (an agent may send any text: the label stays bounded). */
export const OTHER_CODE = 'OTHER';
/** Statuses are counted by class (`2xx`…): a series per code and route would multiply the histogram for little. */
const HTTP_STATUS_CLASS_DIVISOR = 100;

/** What the account gauges read at scrape time. */
export interface AccountSources {
  /** This replica's id. */
  hubId: string;
  /** Every registered account's state (the database's rows). */
  listAccountStates(): Promise<AccountState[]>;
  /** The replicas sharing the database, judged live or dead now. */
  listReplicas(): Promise<ReplicaStatus[]>;
  now?: () => number;
}

/**
 * The hub's Prometheus metrics: agent sessions, ingest throughput and commit latency, operations and
 * tasks, REST requests, accounts and their freshness, replicas. Every name is listed with its labels in
 * docs/operations.md ("Metrics"); deploy/grafana/scale-agent.json charts them.
 */
export class HubMetrics implements IngestMetrics, OperationObserver, TaskObserver, RequestObserver {
  private readonly batches: Counter;
  private readonly changes: Counter;
  private readonly rejected: Counter;
  private readonly commitSeconds: Histogram;
  private readonly digests: Counter<'account' | 'kind'>;
  private readonly divergences: Counter<'account' | 'kind'>;
  private readonly operationSeconds: Histogram<'type' | 'result'>;
  private readonly operationFailures: Counter<'type' | 'code'>;
  private readonly taskSeconds: Histogram<'operation' | 'result'>;
  private readonly requestSeconds: Histogram<'method' | 'route' | 'status_class'>;
  /** account → when this replica last committed one of its batches (the freshness gauge reads it). */
  private readonly lastCommitAt = new Map<string, number>();

  constructor(
    registry: Registry,
    private readonly sessions: SessionRegistry,
    private readonly clock: () => number = Date.now,
  ) {
    this.batches = new Counter({ name: 'scale_agent_hub_batches_committed_total', help: 'Change batches committed', registers: [registry] });
    this.changes = new Counter({ name: 'scale_agent_hub_changes_committed_total', help: 'Changes committed', registers: [registry] });
    this.rejected = new Counter({ name: 'scale_agent_hub_changes_rejected_total', help: 'Malformed changes skipped', registers: [registry] });
    this.commitSeconds = new Histogram({
      name: 'scale_agent_hub_batch_commit_seconds',
      help: 'Time to commit one batch',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    });
    this.digests = new Counter({
      name: 'scale_agent_hub_feed_digests_compared_total',
      help: 'Feed digests compared with what the hub holds (anti-entropy)',
      labelNames: ['account', 'kind'],
      registers: [registry],
    });
    this.divergences = new Counter({
      name: 'scale_agent_hub_cache_divergence_total',
      help: 'Feed digests that did not match what the hub holds; the agent resyncs each such feed',
      labelNames: ['account', 'kind'],
      registers: [registry],
    });
    new Gauge({
      name: 'scale_agent_hub_agent_sessions',
      help: 'Connected agent sessions',
      registers: [registry],
      collect() {
        this.set(sessions.all().length);
      },
    });
    this.operationSeconds = new Histogram({
      name: 'scale_agent_hub_operation_duration_seconds',
      help: 'Operations submitted at this replica, from receipt to outcome (agent result, failure, deadline), by type (apply, delete, patch, get, list, scale, logs) and result (success, failure)',
      labelNames: ['type', 'result'],
      buckets: OPERATION_BUCKETS,
      registers: [registry],
    });
    this.operationFailures = new Counter({
      name: 'scale_agent_hub_operation_failures_total',
      help: `Failed operations by type and failure code (docs/operations.md, "Failure codes"; ${OTHER_CODE} for a code not in the catalogue)`,
      labelNames: ['type', 'code'],
      registers: [registry],
    });
    this.taskSeconds = new Histogram({
      name: 'scale_agent_hub_task_duration_seconds',
      help: 'Runs of Spinnaker tasks (POST /kubernetes/ops) at this replica, from submission to final state, by operation (deployManifest, …; multiple for a task of several) and result (completed, failed, failed_retryable, interrupted)',
      labelNames: ['operation', 'result'],
      buckets: OPERATION_BUCKETS,
      registers: [registry],
    });
    this.requestSeconds = new Histogram({
      name: 'scale_agent_hub_http_request_duration_seconds',
      help: 'REST requests answered, by method, route template (unmatched: no route) and status class (2xx, 4xx, …)',
      labelNames: ['method', 'route', 'status_class'],
      buckets: REQUEST_BUCKETS,
      registers: [registry],
    });
  }

  /**
   * Several replicas on one database: how many accounts this replica caches under a lease, and how many
   * operations it relayed to another replica and still waits for.
   */
  watchReplication(registry: Registry, sources: { leasesHeld: () => number; relayWaiting: () => number }): void {
    new Gauge({
      name: 'scale_agent_hub_caching_leases_held',
      help: 'Accounts this hub replica caches under a caching lease',
      registers: [registry],
      collect() {
        this.set(sources.leasesHeld());
      },
    });
    new Gauge({
      name: 'scale_agent_hub_relayed_operations_waiting',
      help: 'Operations this hub replica relayed to another replica through the database and still waits for',
      registers: [registry],
      collect() {
        this.set(sources.relayWaiting());
      },
    });
  }

  /**
   * The gauges read from the database at scrape time: accounts by status, each account's freshness, and
   * the replicas. A database that does not answer leaves them empty for that scrape (the rest of
   * /metrics is still served).
   */
  watchAccounts(registry: Registry, sources: AccountSources): void {
    const now = sources.now ?? Date.now;
    let snapshot: { at: number; accounts: Promise<AccountState[] | undefined> } | undefined;
    // One read of the accounts per scrape, shared by the two gauges below.
    const accounts = (): Promise<AccountState[] | undefined> => {
      if (snapshot === undefined || now() - snapshot.at > ACCOUNTS_SNAPSHOT_TTL_MS) {
        snapshot = { at: now(), accounts: sources.listAccountStates().catch(() => undefined) };
      }
      return snapshot.accounts;
    };
    const lastCommitAt = this.lastCommitAt;
    const sessions = this.sessions;
    new Gauge({
      name: 'scale_agent_hub_accounts',
      help: 'Registered accounts by status: connected (an agent serves it), unreachable (its agent cannot reach the cluster), disconnected (no agent serves it); every replica reads the same database',
      labelNames: ['status'],
      registers: [registry],
      async collect() {
        this.reset();
        const rows = await accounts();
        if (rows === undefined) return;
        const counts = { connected: 0, unreachable: 0, disconnected: 0 };
        for (const row of rows) counts[row.status === 'disconnected' ? 'disconnected' : row.unreachableReason !== undefined ? 'unreachable' : 'connected']++;
        for (const [status, count] of Object.entries(counts)) this.set({ status }, count);
      },
    });
    new Gauge({
      name: 'scale_agent_hub_account_freshness_seconds',
      help: "Seconds since the hub last knew an account's cache current: its last committed batch or its caching session's last message; for an account no agent serves, since it was last served. Each replica reports the accounts it serves and those nobody serves (min by account across replicas)",
      labelNames: ['account'],
      registers: [registry],
      async collect() {
        this.reset();
        const rows = await accounts();
        if (rows === undefined) return;
        // Accounts gone from the database (removed after their grace period) are forgotten here too.
        const names = new Set(rows.map((row) => row.name));
        for (const account of lastCommitAt.keys()) if (!names.has(account)) lastCommitAt.delete(account);
        const freshness = accountFreshness({
          now: now(),
          hubId: sources.hubId,
          accounts: rows,
          lastCommitAt: (account) => lastCommitAt.get(account),
          cachingHeartbeatAt: (account) => sessions.cachingSession(account)?.lastMessageAt,
        });
        for (const [account, seconds] of freshness) this.set({ account }, seconds);
      },
    });
    new Gauge({
      name: 'scale_agent_hub_replicas',
      help: 'Hub replicas sharing the database, by state: live (heartbeat within hub.replicaDeadAfterSeconds) or dead',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        this.reset();
        const replicas = await sources.listReplicas().catch(() => undefined);
        if (replicas === undefined) return;
        const live = replicas.filter((replica) => replica.live).length;
        this.set({ state: 'live' }, live);
        this.set({ state: 'dead' }, replicas.length - live);
      },
    });
  }

  batchCommitted(account: string, changes: number, commitMs: number): void {
    this.batches.inc();
    this.changes.inc(changes);
    this.commitSeconds.observe(commitMs / 1000);
    this.lastCommitAt.set(account, this.clock());
  }

  changeRejected(): void {
    this.rejected.inc();
  }

  digestCompared(account: string, kind: string, diverged: boolean): void {
    this.digests.inc({ account, kind });
    if (diverged) this.divergences.inc({ account, kind });
  }

  operationFinished(type: OperationRequest['type'], outcome: OperationOutcome, seconds: number): void {
    const failed = outcome.errorCode !== null || outcome.httpStatus >= 400;
    this.operationSeconds.observe({ type, result: failed ? 'failure' : 'success' }, seconds);
    if (!failed) return;
    const code = outcome.errorCode !== null && Object.hasOwn(Errors, outcome.errorCode) ? outcome.errorCode : OTHER_CODE;
    this.operationFailures.inc({ type, code });
  }

  taskFinished(operation: string, result: TaskRunResult, seconds: number): void {
    this.taskSeconds.observe({ operation, result }, seconds);
  }

  requestServed(method: string, route: string, statusCode: number, seconds: number): void {
    this.requestSeconds.observe({ method, route, status_class: `${Math.floor(statusCode / HTTP_STATUS_CLASS_DIVISOR)}xx` }, seconds);
  }
}
