import { DEFAULT_PENDING_HIGH_WATER } from '../../src/agent/account/list-budget.ts';
import { DEFAULT_LIST_BUDGET_TOTAL } from '../../src/agent/config.ts';
import { DEFAULT_LIMITS } from '../../src/protocol/limits.ts';
import { formatCount, type Table } from './report.ts';
import type { AgentProbe, TimelineSample } from './sync-timeline.ts';

/**
 * The sync timeline (sync-timeline.ts) in slices of a few seconds: the CPU share of each process, how busy
 * our processes kept the machine, and each pipeline stage's progress and backlog, so a slice where the
 * machine idles shows which stage held the others up.
 */

/** Slice lengths to choose from, s: the shortest that gives at most MAX_SLICES slices. */
const SLICE_CHOICES = [1, 2, 5, 10, 15, 20, 30, 60, 120, 300];
const MAX_SLICES = 20;
/** A slice counts as "the machine idled" below this share of its cores used by our processes (the target). */
export const BUSY_TARGET = 0.9;

export function sliceSecondsFor(syncSeconds: number): number {
  return SLICE_CHOICES.find((s) => syncSeconds / s <= MAX_SLICES) ?? SLICE_CHOICES[SLICE_CHOICES.length - 1]!;
}

export interface TimelineSlice {
  /** Seconds since the agent's start. */
  from: number;
  to: number;
  /** CPU share of one core over the slice (1 = a core busy); other = the machine less our four processes. */
  cpu: Record<'agent' | 'hub' | 'sim' | 'bench' | 'other', number>;
  /** (agent + hub + sim + bench) ÷ (cores × slice): how busy our processes kept the machine. */
  ours: number;
  /** The hub: changes committed by the slice's end, per second in it, batches per second, changes per batch. */
  committed?: number;
  committedPerSecond?: number;
  batchesPerSecond?: number;
  changesPerBatch?: number;
  /** Mean batches waiting in the hub's ingest queue or committing (Little's law on the commit-time sum). */
  hubBatchesInCommit?: number;
  /** Share of the slice the hub and the sim spent in garbage collection (main thread). */
  hubGcShare?: number;
  simGcShare?: number;
  /** The agent's last read in the slice, and since the read before the slice: objects listed and changes acknowledged per second, the mean acknowledgement time and its GC share. */
  agent?: AgentProbe & {
    knownPerSecond?: number;
    ackedPerSecond?: number;
    meanAckMs?: number;
    gcShare?: number;
    worstLoopDelayP99Ms: number;
    worstLoopDelayMaxMs: number;
  };
}

/** The last item whose time is at or before `t` (items in time order). */
function lastAtOrBefore<T extends { t: number }>(items: readonly T[], t: number): T | undefined {
  let found: T | undefined;
  for (const item of items) {
    if (item.t > t) break;
    found = item;
  }
  return found;
}

export function timelineSlices(samples: readonly TimelineSample[], probes: readonly AgentProbe[], sliceSeconds: number, cores: number): TimelineSlice[] {
  if (samples.length < 2) return [];
  const slices: TimelineSlice[] = [];
  const end = samples[samples.length - 1]!.t;
  for (let from = 0; from < end; from += sliceSeconds) {
    const to = Math.min(end, from + sliceSeconds);
    const a = lastAtOrBefore(samples, from) ?? samples[0]!;
    // A slice that ends before the first sample (the sampler started late, e.g. behind the profiler) is empty.
    const b = to >= end ? samples[samples.length - 1]! : (lastAtOrBefore(samples, to) ?? a);
    const wall = b.t - a.t;
    if (!(wall > 0)) continue;
    const share = (key: keyof TimelineSample['cpuSeconds']) => (b.cpuSeconds[key] - a.cpuSeconds[key]) / wall;
    const cpu = { agent: share('agent'), hub: share('hub'), sim: share('sim'), bench: share('bench'), other: 0 };
    cpu.other = Math.max(0, share('machine') - cpu.agent - cpu.hub - cpu.sim - cpu.bench);
    const slice: TimelineSlice = { from, to, cpu, ours: (cpu.agent + cpu.hub + cpu.sim + cpu.bench) / cores };
    if (b.hub) {
      slice.committed = b.hub.changesCommitted;
      const h0 = a.hub ?? { t: 0, changesCommitted: 0, batchesCommitted: 0, commitSeconds: 0, gcSeconds: 0 };
      const hubWall = b.hub.t - h0.t;
      if (hubWall > 0) {
        const batches = b.hub.batchesCommitted - h0.batchesCommitted;
        const changes = b.hub.changesCommitted - h0.changesCommitted;
        slice.committedPerSecond = changes / hubWall;
        slice.batchesPerSecond = batches / hubWall;
        if (batches > 0) slice.changesPerBatch = changes / batches;
        slice.hubBatchesInCommit = (b.hub.commitSeconds - h0.commitSeconds) / hubWall;
        // The hub's garbage collection before the agent started is not the sync's: no share without a start.
        if (a.hub) slice.hubGcShare = (b.hub.gcSeconds - a.hub.gcSeconds) / hubWall;
      }
    }
    if (a.simGcMs !== undefined && b.simGcMs !== undefined) slice.simGcShare = (b.simGcMs - a.simGcMs) / 1000 / wall;
    const probe = lastAtOrBefore(probes, to >= end ? Infinity : to);
    if (probe && probe.t >= from) {
      const before = probes.filter((p) => p.t < from).at(-1);
      const inSlice = probes.filter((p) => p.t >= from && p.t <= probe.t);
      slice.agent = {
        ...probe,
        // Each read's event-loop delay covers the time since the read before it.
        worstLoopDelayP99Ms: Math.max(...inSlice.map((p) => p.loopDelayP99Ms)),
        worstLoopDelayMaxMs: Math.max(...inSlice.map((p) => p.loopDelayMaxMs)),
      };
      if (before && probe.t > before.t) {
        const wall = probe.t - before.t;
        const batches = probe.batchesAcked - before.batchesAcked;
        slice.agent.knownPerSecond = (probe.known - before.known) / wall;
        slice.agent.ackedPerSecond = (probe.changesAcked - before.changesAcked) / wall;
        if (batches > 0) slice.agent.meanAckMs = ((probe.ackSeconds - before.ackSeconds) / batches) * 1000;
        slice.agent.gcShare = (probe.gcSeconds - before.gcSeconds) / wall;
      }
    }
    slices.push(slice);
  }
  return slices;
}

const pct = (share: number | undefined) => (share !== undefined && Number.isFinite(share) ? `${(share * 100).toFixed(0)}%` : '');
const count = (n: number | undefined) => (n !== undefined && Number.isFinite(n) ? formatCount(n) : '');
const span = (s: TimelineSlice) => `${s.from.toFixed(0)}–${s.to.toFixed(0)}`;

export function timelineTables(
  slices: readonly TimelineSlice[],
  cores: number,
  meta: { probes: readonly AgentProbe[]; intervalMs: number; agentProbeMs: number },
): Table[] {
  const idle = slices.filter((s) => s.ours < BUSY_TARGET);
  const idleSeconds = idle.reduce((sum, s) => sum + (s.to - s.from), 0);
  const total = slices.length > 0 ? slices[slices.length - 1]!.to : 0;
  const cpuTable: Table = {
    title: 'Initial sync timeline: CPU (share of one core) and the hub’s progress',
    header: [
      's',
      'agent',
      'hub',
      'sim',
      'bench',
      'other',
      `ours of ${cores} cores`,
      'hub committed',
      'per s',
      'batches/s',
      'changes/batch',
      'hub: batches in commit',
      'GC: hub',
      'sim',
    ],
    rows: slices.map((s) => [
      span(s),
      pct(s.cpu.agent),
      pct(s.cpu.hub),
      pct(s.cpu.sim),
      pct(s.cpu.bench),
      pct(s.cpu.other),
      pct(s.ours),
      count(s.committed),
      count(s.committedPerSecond),
      count(s.batchesPerSecond),
      count(s.changesPerBatch),
      s.hubBatchesInCommit !== undefined ? s.hubBatchesInCommit.toFixed(1) : '',
      pct(s.hubGcShare),
      pct(s.simGcShare),
    ]),
    notes: [
      `CPU from /proc every ${meta.intervalMs} ms (10 ms ticks), 100% = one core; other = the whole machine (/proc/stat) less our four processes; ours = (agent + hub + sim + bench) ÷ ${cores} cores. ${idleSeconds.toFixed(0)} of ${total.toFixed(0)} s lie in slices where ours stayed under ${pct(BUSY_TARGET)}.`,
      'committed = changes (objects and snapshot markers) the hub had committed, from its /metrics as the sync poll read it (every 250 ms); hub: batches in commit = the mean number of batches waiting in its ingest queue or committing (the growth of scale_agent_hub_batch_commit_seconds_sum per second, by Little’s law): near 0 the hub waits for batches, well above 1 batches wait for the hub.',
      'GC = the share of the slice spent in garbage collection (the hub’s nodejs_gc_duration_seconds; the sim’s PerformanceObserver).',
    ],
  };
  const mean = (values: number[]) => (values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : NaN);
  const num = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
  const feedStates = (p: AgentProbe) => `${p.feeds.queued ?? 0} / ${p.feeds.listing ?? 0} / ${p.feeds.watching ?? 0}`;
  const header = [
    's',
    'accounts ready',
    'feeds queued / listing / watching',
    'objects listed',
    'listed/s',
    'changes pending',
    'streams',
    'unacked batches',
    'streams at the limit',
    'acked/s',
    'mean ack',
    'GC',
    'loop delay p99 / max',
  ];
  const agentTable: Table = {
    title: 'Initial sync timeline: the agent’s pipeline (its GET /accounts and /metrics)',
    header,
    rows: slices.map((s) =>
      s.agent
        ? [
            span(s),
            `${count(s.agent.accountsReady)} of ${count(s.agent.accounts)}`,
            feedStates(s.agent),
            count(s.agent.known),
            count(s.agent.knownPerSecond),
            count(s.agent.pending),
            count(s.agent.streams),
            count(s.agent.unackedBatches),
            count(s.agent.streamsAtUnackedLimit),
            count(s.agent.ackedPerSecond),
            s.agent.meanAckMs !== undefined ? `${num(s.agent.meanAckMs)} ms` : '',
            pct(s.agent.gcShare),
            `${num(s.agent.worstLoopDelayP99Ms)} / ${num(s.agent.worstLoopDelayMaxMs)} ms`,
          ]
        : [
            span(s),
            meta.agentProbeMs === 0 ? 'not read' : meta.probes.some((p) => p.t < s.from) ? 'no answer in the slice' : 'not listening yet',
            ...header.slice(2).map(() => ''),
          ],
    ),
    notes: [
      meta.agentProbeMs > 0
        ? `The agent read every ${num(meta.agentProbeMs / 1000, 1)} s (--timeline-agent-seconds), its /accounts then its /metrics; each row shows the last read sent in the slice, rates since the read before the slice. ${meta.probes.length} reads: /accounts ${num(mean(meta.probes.map((p) => p.ms)))} ms and ${formatCount(mean(meta.probes.map((p) => p.bytes)) / 1024)} KiB, /metrics ${num(mean(meta.probes.map((p) => p.metricsMs)))} ms and ${formatCount(mean(meta.probes.map((p) => p.metricsBytes)) / 1024)} KiB on average; their CPU is in the agent's figures. The admin server listens once every account was discovered.`
        : 'The agent was not read (--timeline-agent-seconds 0).',
      `feeds queued = waiting for the list budget (tasks.totalBudget, ${DEFAULT_LIST_BUDGET_TOTAL} by default); objects listed = what the feeds know; changes pending = waiting in the feed queues to be sent (lists pause between pages above ${formatCount(DEFAULT_PENDING_HIGH_WATER)}); unacked batches = sent, not yet acknowledged; streams at the limit = accounts with maxUnackedBatches (${DEFAULT_LIMITS.maxUnackedBatches}) in flight, each waiting for an acknowledgement before it sends more. The bytes in flight under the agent's send window are not exposed.`,
      "acked/s, mean ack = changes the hub acknowledged and a batch's time from written to acknowledged (scale_agent_batch_ack_seconds); GC = the agent's nodejs_gc_duration_seconds per second; loop delay = the event-loop delay p99 / max between reads (the worst read in the slice).",
    ],
  };
  return [cpuTable, agentTable];
}
