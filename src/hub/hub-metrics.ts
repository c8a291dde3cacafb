import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { IngestMetrics } from './grpc/sync-handler.ts';
import type { SessionRegistry } from './grpc/session-registry.ts';

/** The hub's Prometheus metrics: agent sessions, ingest throughput and commit latency. */
export class HubMetrics implements IngestMetrics {
  private readonly batches: Counter;
  private readonly changes: Counter;
  private readonly rejected: Counter;
  private readonly commitSeconds: Histogram;
  private readonly digests: Counter;
  private readonly divergences: Counter;

  constructor(registry: Registry, sessions: SessionRegistry) {
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

  batchCommitted(_account: string, changes: number, commitMs: number): void {
    this.batches.inc();
    this.changes.inc(changes);
    this.commitSeconds.observe(commitMs / 1000);
  }

  changeRejected(): void {
    this.rejected.inc();
  }

  digestCompared(account: string, kind: string, diverged: boolean): void {
    this.digests.inc({ account, kind });
    if (diverged) this.divergences.inc({ account, kind });
  }
}
