import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AccountRuntime } from './account/account-runtime.ts';
import { SESSION_STATES, type SessionState } from './session/hub-connection.ts';
import type { SyncStream } from './sync/sync-stream.ts';

/** What the session metrics read of the agent's connection to the hub, at scrape time. */
export interface SessionSource {
  readonly state: SessionState;
  readonly reconnects: number;
}

/** The agent's Prometheus metrics: what it streams, how fast the hub acknowledges, its operations. */
export class AgentMetrics {
  private readonly ackSeconds: Histogram;
  private readonly operations: Counter<'type' | 'result'>;
  private readonly operationSeconds: Histogram<'type'>;
  private readonly divergences: Counter<'account' | 'kind'>;
  private readonly clientSideApplies: Counter<'account' | 'action' | 'patch_metadata'>;

  /**
   * Acknowledged changes and bytes per account, handed to the two counters only when they are scraped:
   * prom-client hashes the label set on every labelled increment, which at 2,000 acknowledgements a
   * second took 3 % of the agent's CPU (docs/performance.md, "scale").
   */
  private readonly sent = new Map<string, { changes: number; bytes: number }>();

  constructor(registry: Registry, accounts: Map<string, AccountRuntime>, streams: Map<string, SyncStream>) {
    const sent = this.sent;
    // The totals are kept in `sent` and only ever grow, so each scrape states them afresh.
    const sentCounter = (name: string, help: string, total: (totals: { changes: number; bytes: number }) => number) =>
      new Counter({
        name,
        help,
        labelNames: ['account'],
        registers: [registry],
        collect() {
          this.reset();
          for (const [account, totals] of sent) this.inc({ account }, total(totals));
        },
      });
    sentCounter('scale_agent_changes_sent_total', 'Changes acknowledged by the hub', (t) => t.changes);
    sentCounter('scale_agent_bytes_sent_total', 'Object bytes acknowledged by the hub', (t) => t.bytes);
    this.ackSeconds = new Histogram({
      name: 'scale_agent_batch_ack_seconds',
      help: 'Time from sending a batch to its acknowledgement',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers: [registry],
    });
    this.divergences = new Counter({
      name: 'scale_agent_cache_divergence_total',
      help: 'Feeds whose digest the hub found different from what the agent sent (each is resynchronised)',
      labelNames: ['account', 'kind'],
      registers: [registry],
    });
    this.clientSideApplies = new Counter({
      name: 'scale_agent_client_side_apply_total',
      help: "Client-side applies by what was sent (create, strategic or merge patch, nothing) and where the patch metadata came from (openapi: the cluster's OpenAPI v3; builtin: the built-in types; none: not a strategic merge patch)",
      labelNames: ['account', 'action', 'patch_metadata'],
      registers: [registry],
    });
    this.operations = new Counter({ name: 'scale_agent_operations_total', help: 'Operations run', labelNames: ['type', 'result'], registers: [registry] });
    this.operationSeconds = new Histogram({ name: 'scale_agent_operation_seconds', help: 'Operation duration', labelNames: ['type'], registers: [registry] });
    new Gauge({
      name: 'scale_agent_watches',
      help: 'Feeds being watched',
      registers: [registry],
      collect() {
        let n = 0;
        for (const a of accounts.values()) n += a.watches().length;
        this.set(n);
      },
    });
    // The per-feed families (freshness, state, relists, restarts, errors) are written by FeedMetrics.
    new Gauge({
      name: 'scale_agent_pending_changes',
      help: 'Changes waiting to be sent (coalesced per object)',
      registers: [registry],
      collect() {
        let n = 0;
        for (const a of accounts.values()) for (const q of a.queues()) n += q.pendingCount;
        this.set(n);
      },
    });
    new Gauge({
      name: 'scale_agent_sync_streams',
      help: 'Open per-account sync streams',
      registers: [registry],
      collect() {
        this.set(streams.size);
      },
    });
  }

  /**
   * The agent's session with the hub: its state (a series per state, 1 for the current one and 0 for the
   * others, so an alert on `state="connected"` never lacks its series) and how often it redialled.
   */
  watchSession(registry: Registry, connection: SessionSource): void {
    new Gauge({
      name: 'scale_agent_session_state',
      help: `The agent's session with the hub: 1 for its current state, 0 for the others (${SESSION_STATES.join(', ')})`,
      labelNames: ['state'],
      registers: [registry],
      collect() {
        for (const state of SESSION_STATES) this.set({ state }, connection.state === state ? 1 : 0);
      },
    });
    new Counter({
      name: 'scale_agent_session_reconnects_total',
      help: 'Redials of the hub: after a session ended, or after an attempt that got no welcome',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(connection.reconnects);
      },
    });
  }

  batchAcked(account: string, changes: number, bytes: number, latencyMs: number): void {
    let totals = this.sent.get(account);
    if (totals === undefined) {
      totals = { changes: 0, bytes: 0 };
      this.sent.set(account, totals);
    }
    totals.changes += changes;
    totals.bytes += bytes;
    this.ackSeconds.observe(latencyMs / 1000);
  }

  cacheDiverged(account: string, kind: string): void {
    this.divergences.inc({ account, kind });
  }

  clientSideApplied(account: string, action: string, patchMetadata: string): void {
    this.clientSideApplies.inc({ account, action, patch_metadata: patchMetadata });
  }

  operationDone(type: string, result: 'success' | 'failure', ms: number): void {
    this.operations.inc({ type, result });
    this.operationSeconds.observe({ type }, ms / 1000);
  }
}
