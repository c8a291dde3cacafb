import { DEFAULT_LIMITS } from '../../src/protocol/limits.ts';
import { metricSum } from './parts.ts';
import { machineCpuSeconds, ownCpuSeconds, procSample } from './proc-stats.ts';

/**
 * A timeline of the initial sync, to find where the pipeline waits when the machine is not busy: every
 * second the CPU each process used (/proc/<pid>/stat), and alongside it how far each stage has got —
 * objects the agent has listed, changes waiting in its queues, batches it has in flight, changes the hub
 * has committed and how long its batches wait to be committed. Everything is kept as cumulative values
 * with their times; sync-timeline-report.ts turns them into slices.
 */

/** The processes whose CPU the timeline follows (the benchmark process and the whole machine come on top). */
export const TIMELINE_PARTS = ['agent', 'hub', 'sim'] as const;
export type TimelinePart = (typeof TIMELINE_PARTS)[number];

/** The hub's progress, from its /metrics (cumulative since it started). */
export interface HubProgress {
  changesCommitted: number;
  batchesCommitted: number;
  /**
   * Sum over committed batches of the time from the hub taking a batch up to its commit (its wait in the
   * ingest queue plus the group commit), s. Its growth per second is, by Little's law, the mean number
   * of batches waiting or committing at the hub.
   */
  commitSeconds: number;
  /** The hub's garbage collection so far (prom-client's nodejs_gc_duration_seconds), s. */
  gcSeconds: number;
}

export function hubProgressOf(metricsText: string): HubProgress {
  return {
    changesCommitted: metricSum(metricsText, 'scale_agent_hub_changes_committed_total'),
    batchesCommitted: metricSum(metricsText, 'scale_agent_hub_batches_committed_total'),
    commitSeconds: metricSum(metricsText, 'scale_agent_hub_batch_commit_seconds_sum'),
    gcSeconds: metricSum(metricsText, 'nodejs_gc_duration_seconds_sum'),
  };
}

/** What the agent's GET /accounts says of its pipeline, summed over accounts. */
export interface AgentProgress {
  accounts: number;
  accountsReady: number;
  /** Objects its feeds know (listed or watched): how far the lists have got. */
  known: number;
  /** Changes waiting in its feed queues to be sent (the lists pause between pages above a high-water mark). */
  pending: number;
  /** Feeds by reflector state (queued = waiting for the list budget, listing, watching, …). */
  feeds: Record<string, number>;
  /** Open per-account sync streams, their batches sent and not yet acknowledged, and streams at the limit of unacknowledged batches. */
  streams: number;
  unackedBatches: number;
  streamsAtUnackedLimit: number;
}

/** The parts of GET /accounts read here (the agent's admin server, src/agent/admin/admin-server.ts). */
interface AccountView {
  state?: string;
  watches?: { byState?: Record<string, number>; pending?: number; known?: number };
  syncStream?: { unackedBatches?: number } | null;
}

export function agentProgressOf(accounts: AccountView[], maxUnackedBatches: number = DEFAULT_LIMITS.maxUnackedBatches): AgentProgress {
  const progress: AgentProgress = {
    accounts: accounts.length,
    accountsReady: 0,
    known: 0,
    pending: 0,
    feeds: {},
    streams: 0,
    unackedBatches: 0,
    streamsAtUnackedLimit: 0,
  };
  for (const account of accounts) {
    if (account.state === 'ready') progress.accountsReady++;
    progress.known += account.watches?.known ?? 0;
    progress.pending += account.watches?.pending ?? 0;
    for (const [state, n] of Object.entries(account.watches?.byState ?? {})) progress.feeds[state] = (progress.feeds[state] ?? 0) + n;
    const unacked = account.syncStream?.unackedBatches;
    if (unacked === undefined) continue;
    progress.streams++;
    progress.unackedBatches += unacked;
    if (unacked >= maxUnackedBatches) progress.streamsAtUnackedLimit++;
  }
  return progress;
}

/** What the agent's /metrics adds: its acknowledgements, garbage collection and event-loop delay. */
export interface AgentCounters {
  /** Changes the hub acknowledged so far, and batches acknowledged with the sum of their send → acknowledgement times (s). */
  changesAcked: number;
  batchesAcked: number;
  ackSeconds: number;
  /** Garbage collection so far (prom-client's nodejs_gc_duration_seconds), s. */
  gcSeconds: number;
  /** Event-loop delay since the previous scrape (prom-client resets its histogram on each), ms. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

const AGENT_COUNTERS: Record<string, keyof AgentCounters> = {
  scale_agent_changes_sent_total: 'changesAcked',
  scale_agent_batch_ack_seconds_count: 'batchesAcked',
  scale_agent_batch_ack_seconds_sum: 'ackSeconds',
  nodejs_gc_duration_seconds_sum: 'gcSeconds',
  nodejs_eventloop_lag_p99_seconds: 'loopDelayP99Ms',
  nodejs_eventloop_lag_max_seconds: 'loopDelayMaxMs',
};

/**
 * The agent's counters from its /metrics text, in one pass: at a thousand accounts the text holds some
 * forty thousand lines (a series per feed), and the benchmark's CPU counts in the sync's figures.
 */
export function agentCountersOf(metricsText: string): AgentCounters {
  const out: AgentCounters = { changesAcked: 0, batchesAcked: 0, ackSeconds: 0, gcSeconds: 0, loopDelayP99Ms: 0, loopDelayMaxMs: 0 };
  for (let at = 0; at < metricsText.length;) {
    let end = metricsText.indexOf('\n', at);
    if (end < 0) end = metricsText.length;
    // Only the agent's own families and Node's start with these letters; the per-feed ones are scale_agent_watch_*.
    if (metricsText.startsWith('scale_agent_c', at) || metricsText.startsWith('scale_agent_b', at) || metricsText.startsWith('nodejs_', at)) {
      const line = metricsText.slice(at, end);
      const nameEnd = line.search(/[{ ]/);
      const key = AGENT_COUNTERS[line.slice(0, nameEnd)];
      const value = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (key !== undefined && Number.isFinite(value)) out[key] += value;
    }
    at = end + 1;
  }
  out.loopDelayP99Ms *= MS_PER_SECOND;
  out.loopDelayMaxMs *= MS_PER_SECOND;
  return out;
}

const MS_PER_SECOND = 1000;

export interface TimelineSample {
  /** Seconds since the agent process started. */
  t: number;
  /**
   * CPU seconds so far: each process's since it started (user + system, /proc/<pid>/stat, 10 ms ticks), the
   * benchmark process's own, and the whole machine's since boot (all cores, /proc/stat).
   */
  cpuSeconds: Record<TimelinePart | 'bench' | 'machine', number>;
  rssBytes: Record<TimelinePart, number>;
  /** The hub's counters as of its latest scrape (the benchmark's sync poll), and when that scrape was answered (s). */
  hub?: HubProgress & { t: number };
  /** The sim's garbage collection so far, ms, as of its latest answer. */
  simGcMs?: number;
}

/**
 * One read of the agent: GET /accounts, then GET /metrics. When the first was sent (s), how long each took
 * and how big it was, and what they said.
 */
export interface AgentProbe extends AgentProgress, AgentCounters {
  t: number;
  ms: number;
  bytes: number;
  metricsMs: number;
  metricsBytes: number;
}

export interface SyncTimelineOptions {
  pids: Record<TimelinePart, number>;
  /** performance.now() of the agent process's start: the timeline's zero. */
  origin: number;
  intervalMs: number;
  /** How often the agent's /accounts and /metrics are read (0: never); each read costs the agent some CPU. */
  agentProbeMs: number;
  /** The agent's admin address once it is known (it listens only after every account was discovered). */
  agentAdminUrl: () => string | undefined;
  /** The sim's garbage-collection time so far, ms. */
  simGcMs?: () => Promise<number>;
}

export class SyncTimeline {
  readonly samples: TimelineSample[] = [];
  readonly agentProbes: AgentProbe[] = [];
  private hub: (HubProgress & { t: number }) | undefined;
  private simGcMs: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private simAsking = false;
  private agentProbing = false;
  private lastAgentProbeAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: SyncTimelineOptions) {}

  private now(): number {
    return (performance.now() - this.options.origin) / 1000;
  }

  start(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Takes a last sample (the end of the sync) and stops; answers that arrive later are dropped. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    this.stopped = true;
  }

  /** The hub's counters from a scrape made elsewhere (the sync poll reads its /metrics anyway). */
  noteHub(progress: HubProgress): void {
    if (!this.stopped) this.hub = { ...progress, t: this.now() };
  }

  private tick(): void {
    this.sample();
    this.askSim();
    if (this.options.agentProbeMs > 0 && performance.now() - this.lastAgentProbeAt >= this.options.agentProbeMs) this.probeAgent();
  }

  private sample(): void {
    if (this.stopped) return;
    const { pids } = this.options;
    try {
      const agent = procSample(pids.agent);
      const hub = procSample(pids.hub);
      const sim = procSample(pids.sim);
      this.samples.push({
        t: this.now(),
        cpuSeconds: { agent: agent.cpuSeconds, hub: hub.cpuSeconds, sim: sim.cpuSeconds, bench: ownCpuSeconds(), machine: machineCpuSeconds() },
        rssBytes: { agent: agent.rssBytes, hub: hub.rssBytes, sim: sim.rssBytes },
        ...(this.hub ? { hub: this.hub } : {}),
        ...(this.simGcMs !== undefined ? { simGcMs: this.simGcMs } : {}),
      });
    } catch {
      // A process has exited: the sync poll reports that.
    }
  }

  private askSim(): void {
    const ask = this.options.simGcMs;
    if (!ask || this.simAsking) return;
    this.simAsking = true;
    ask().then(
      (ms) => {
        this.simAsking = false;
        if (!this.stopped) this.simGcMs = ms;
      },
      () => (this.simAsking = false),
    );
  }

  private probeAgent(): void {
    const url = this.options.agentAdminUrl();
    if (url === undefined || this.agentProbing) return;
    this.agentProbing = true;
    this.lastAgentProbeAt = performance.now();
    const t = this.now();
    const sent = performance.now();
    void (async () => {
      try {
        const accounts = await (await fetch(`${url}/accounts`)).text();
        const ms = performance.now() - sent;
        const metricsSent = performance.now();
        const metrics = await (await fetch(`${url}/metrics`)).text();
        if (this.stopped) return;
        this.agentProbes.push({
          t,
          ms,
          bytes: Buffer.byteLength(accounts),
          metricsMs: performance.now() - metricsSent,
          metricsBytes: Buffer.byteLength(metrics),
          ...agentProgressOf(JSON.parse(accounts) as AccountView[]),
          ...agentCountersOf(metrics),
        });
      } catch {
        // The agent is gone or not listening yet: the next probe tries again.
      } finally {
        this.agentProbing = false;
      }
    })();
  }
}
