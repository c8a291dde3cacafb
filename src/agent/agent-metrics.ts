import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { REFLECTOR_STATES } from '../kube/reflector.ts';
import type { AccountRuntime, WatchView } from './account/account-runtime.ts';
import { freshnessSeconds } from './admin/watch-health.ts';
import type { SyncStream } from './sync/sync-stream.ts';

type WatchLabel = 'account' | 'kind' | 'namespace';
const WATCH_LABELS: WatchLabel[] = ['account', 'kind', 'namespace'];

/** Labels of one feed: the kind as "Kind.group" (core kinds bare), the namespace scope ('' = all). */
function watchLabels(account: string, w: WatchView): Record<WatchLabel, string> {
  return { account, kind: w.feed.group === '' ? w.feed.kind : `${w.feed.kind}.${w.feed.group}`, namespace: w.feed.namespace };
}

function* allWatches(accounts: Map<string, AccountRuntime>): Generator<[string, WatchView]> {
  for (const a of accounts.values()) for (const w of a.watches()) yield [a.name, w];
}

/** The agent's Prometheus metrics: what it streams, how fast the hub acknowledges, its operations. */
export class AgentMetrics {
  private readonly changes: Counter<'account'>;
  private readonly bytes: Counter<'account'>;
  private readonly ackSeconds: Histogram;
  private readonly operations: Counter<'type' | 'result'>;
  private readonly operationSeconds: Histogram<'type'>;

  constructor(registry: Registry, accounts: Map<string, AccountRuntime>, streams: Map<string, SyncStream>) {
    this.changes = new Counter({ name: 'scale_agent_changes_sent_total', help: 'Changes acknowledged by the hub', labelNames: ['account'], registers: [registry] });
    this.bytes = new Counter({ name: 'scale_agent_bytes_sent_total', help: 'Object bytes acknowledged by the hub', labelNames: ['account'], registers: [registry] });
    this.ackSeconds = new Histogram({
      name: 'scale_agent_batch_ack_seconds',
      help: 'Time from sending a batch to its acknowledgement',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
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
    // Per feed, read from the reflectors at scrape time (feeds come and go with discovery, so the
    // series are rebuilt on every scrape rather than updated in place).
    new Gauge({
      name: 'scale_agent_watch_freshness_seconds',
      help: 'Seconds since the last event, bookmark or completed list of a feed (absent before its first)',
      labelNames: WATCH_LABELS,
      registers: [registry],
      collect() {
        this.reset();
        const now = Date.now();
        for (const [account, w] of allWatches(accounts)) {
          const freshness = freshnessSeconds(w.reflector, now);
          if (freshness !== undefined) this.set(watchLabels(account, w), freshness);
        }
      },
    });
    new Gauge({
      name: 'scale_agent_watch_state',
      help: "1 for a feed's current reflector state, 0 for the others",
      labelNames: [...WATCH_LABELS, 'state'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [account, w] of allWatches(accounts)) {
          const labels = watchLabels(account, w);
          for (const state of REFLECTOR_STATES) this.set({ ...labels, state }, w.reflector.state === state ? 1 : 0);
        }
      },
    });
    const cumulative = (name: string, help: string, read: (w: WatchView) => number) =>
      new Counter({
        name,
        help,
        labelNames: WATCH_LABELS,
        registers: [registry],
        collect() {
          this.reset();
          for (const [account, w] of allWatches(accounts)) this.inc(watchLabels(account, w), read(w));
        },
      });
    cumulative('scale_agent_watch_relists_total', 'Completed lists of a feed (the initial one included)', (w) => w.reflector.relists);
    cumulative('scale_agent_watch_restarts_total', 'Watches of a feed re-opened after one ended or failed', (w) => w.reflector.watchRestarts);
    cumulative('scale_agent_watch_errors_total', 'Failed lists and watches of a feed', (w) => w.reflector.errors);
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

  batchAcked(account: string, changes: number, bytes: number, latencyMs: number): void {
    this.changes.inc({ account }, changes);
    this.bytes.inc({ account }, bytes);
    this.ackSeconds.observe(latencyMs / 1000);
  }

  operationDone(type: string, result: 'success' | 'failure', ms: number): void {
    this.operations.inc({ type, result });
    this.operationSeconds.observe({ type }, ms / 1000);
  }
}
