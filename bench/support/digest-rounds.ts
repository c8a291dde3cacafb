import { readFileSync } from 'node:fs';
import type { ProcSample } from './proc-stats.ts';
import { sleep } from './processes.ts';

/**
 * Anti-entropy inside the scale benchmark. The agent asks every feed for its digest every
 * `clouddriver.digestIntervalSeconds`, on a timer it starts right after it logs "agent started"; the hub
 * counts each comparison (`scale_agent_hub_feed_digests_compared_total`). `DigestTicks` predicts those
 * ticks from that log line's time, re-anchors on every tick it watches the hub's counter react to, keeps
 * the other measured windows clear of rounds, and measures rounds in pairs of equal windows: one that
 * holds a tick, then one that holds none. There is no way to ask the agent for a round on demand (no
 * admin endpoint; a reconnect would add its own work), so the timer's schedule is the handle.
 */

/** Bytes a process passed to read()/write() system calls so far (/proc/<pid>/io: sockets, pipes, files). */
export interface ProcIo {
  rchar: number;
  wchar: number;
}

export function procIo(pid: number): ProcIo {
  const text = readFileSync(`/proc/${pid}/io`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { rchar: field('rchar'), wchar: field('wchar') };
}

export interface HubDigestCounters {
  /** scale_agent_hub_feed_digests_compared_total, every series. */
  compared: number;
  /** scale_agent_hub_cache_divergence_total, every series. */
  diverged: number;
}

/** The hub's counters are polled this often while the benchmark waits for a tick or for a round to end (never inside a measured window). */
const POLL_MS = 250;
/** A round is over once the hub's comparison counter has not moved for this long. */
const QUIET_MS = 2000;
/** After a predicted tick, how long the hub's counter may take to move before the tick counts as not seen. */
const TICK_GRACE_MS = 10_000;
/** A measured window starts this long before the tick it is to hold (the prediction is good to well under a second). */
export const LEAD_MS = 2000;
/** Room left between a pair's end and the next pair's start (the boundaries' own scrapes). */
const PAIR_SLACK_MS = 2000;
/** A window kept clear of rounds also keeps this far from the next tick. */
const CLEAR_MARGIN_MS = 3000;

const sleepUntil = async (epochMs: number) => {
  const wait = epochMs - Date.now();
  if (wait > 0) await sleep(wait);
};

export interface ObservedTick {
  /** Epoch ms: midway between the last poll before the hub's counter moved and the first after. */
  at: number;
  /** Comparisons the hub counted from the tick until the counter stood still. */
  compared: number;
  /** From the tick until the counter stood still (the quiet period excluded), ms. */
  roundMs: number;
}

export interface RoundPair<B> {
  /** Epoch ms of the predicted tick inside the first window. */
  tickAt: number;
  start: B;
  mid: B;
  end: B;
}

export class DigestTicks {
  /** Epoch ms of a tick (at first the timer's start, which is tick 0). */
  private anchor: number;
  /** Ticks seen through the hub's counter (the warm-up round, and those passed while clearing a window). */
  readonly observed: ObservedTick[] = [];

  constructor(
    readonly intervalMs: number,
    timerStartedAt: number,
    private readonly counters: () => Promise<HubDigestCounters>,
  ) {
    this.anchor = timerStartedAt;
  }

  /** The first tick after `after` (epoch ms). */
  nextTick(after = Date.now()): number {
    return this.anchor + (Math.floor((after - this.anchor) / this.intervalMs) + 1) * this.intervalMs;
  }

  /** Ticks t with from < t ≤ to (epoch ms, from not before the anchor). */
  ticksBetween(from: number, to: number): number {
    return Math.max(0, Math.floor((to - this.anchor) / this.intervalMs) - Math.floor((from - this.anchor) / this.intervalMs));
  }

  /** Polls the hub until its comparison counter has not moved for QUIET_MS; returns the counter and when it last moved. */
  async waitQuiet(): Promise<{ compared: number; lastMovedAt: number }> {
    let last = (await this.counters()).compared;
    let lastMovedAt = Date.now();
    let stillSince = Date.now();
    while (Date.now() - stillSince < QUIET_MS) {
      await sleep(POLL_MS);
      const now = (await this.counters()).compared;
      if (now !== last) {
        last = now;
        lastMovedAt = stillSince = Date.now();
      }
    }
    return { compared: last, lastMovedAt };
  }

  /** Waits for the next tick, sees the hub start comparing (re-anchoring the schedule there) and waits for the round to end. */
  async observeTick(): Promise<ObservedTick | undefined> {
    const tick = this.nextTick();
    await sleepUntil(tick - 1000);
    let before = (await this.counters()).compared;
    let beforeAt = Date.now();
    while (Date.now() < tick + TICK_GRACE_MS) {
      await sleep(POLL_MS);
      const now = Date.now();
      const compared = (await this.counters()).compared;
      if (compared > before) {
        this.anchor = (beforeAt + now) / 2;
        const quiet = await this.waitQuiet();
        const seen = { at: this.anchor, compared: quiet.compared - before, roundMs: quiet.lastMovedAt - this.anchor };
        this.observed.push(seen);
        return seen;
      }
      before = compared;
      beforeAt = now;
    }
    return undefined;
  }

  /**
   * Makes room for a phase of `lengthMs` starting now with no tick in it and no round running: waits for
   * the next tick, watches its round end (re-anchoring the schedule there: under load the agent's timer
   * runs late and the ticks drift), and returns with a whole interval less that round ahead. `overlaps` is
   * true when that is still shorter than the phase (the interval is too short for it).
   */
  async clear(lengthMs: number): Promise<{ waitedMs: number; overlaps: boolean }> {
    const started = Date.now();
    await this.observeTick();
    await this.waitQuiet();
    const now = Date.now();
    return { waitedMs: now - started, overlaps: this.nextTick(now) - now < lengthMs + CLEAR_MARGIN_MS };
  }

  /** The longest window a pair can use at this interval: both windows and the lead fit between two ticks. */
  pairWindowMs(): number {
    return Math.floor((this.intervalMs - PAIR_SLACK_MS) / 2);
  }

  /**
   * `rounds` pairs of equal windows of `windowMs`: [tick − LEAD_MS, + windowMs) holds a tick,
   * the next windowMs none. `boundary` samples whatever is measured at each edge.
   */
  async measurePairs<B>(rounds: number, windowMs: number, boundary: () => Promise<B>): Promise<Array<RoundPair<B>>> {
    const pairs: Array<RoundPair<B>> = [];
    for (let i = 0; i < rounds; i++) {
      const tickAt = this.nextTick(Date.now() + LEAD_MS);
      await sleepUntil(tickAt - LEAD_MS);
      const start = await boundary();
      await sleepUntil(tickAt - LEAD_MS + windowMs);
      const mid = await boundary();
      await sleepUntil(tickAt - LEAD_MS + 2 * windowMs);
      const end = await boundary();
      pairs.push({ tickAt, start, mid, end });
    }
    return pairs;
  }
}

/** What one edge of a measured window holds. */
export interface DigestBoundary {
  /** Epoch ms. */
  at: number;
  cpu: Record<DigestPart, ProcSample>;
  /** CPU seconds of every process on the machine (machineCpuSeconds) and of the benchmark process itself. */
  machineCpu: number;
  benchCpu: number;
  agentIo: ProcIo;
  compared: number;
  diverged: number;
}

export const DIGEST_PARTS = ['agent', 'hub', 'sim'] as const;
export type DigestPart = (typeof DIGEST_PARTS)[number];

/** /proc/<pid>/stat counts CPU time in 10 ms ticks: a window's CPU seconds are good to about ±0.01 s at each edge. */
const CPU_RESOLUTION_SECONDS = 0.02;

export interface PairFigures {
  tickAt: number;
  withMs: number;
  withoutMs: number;
  /** Comparisons the hub counted in each window (a round's belong in the first). */
  comparedWith: number;
  comparedWithout: number;
  divergedInPair: number;
  cpuWith: Record<DigestPart, number>;
  cpuWithout: Record<DigestPart, number>;
  /** CPU seconds of everything else on the machine (not the agent, the hub, the sim or the benchmark). */
  otherWith: number;
  otherWithout: number;
  /** Bytes the agent wrote / read through system calls in each window (its gRPC stream to the hub is most of it). */
  agentWrittenWith: number;
  agentWrittenWithout: number;
  agentReadWith: number;
  agentReadWithout: number;
}

export interface Difference {
  /** Mean over the pairs of (with − without). */
  mean: number;
  min: number;
  max: number;
  /** Standard error of the mean (NaN with one pair). */
  stdError: number;
  /** Whether the mean stands clear of the noise: more than twice its standard error and than the CPU counters' resolution (undefined with one pair). */
  resolved: boolean | undefined;
}

export interface PartFigures extends Difference {
  /** CPU seconds in all windows with a tick, and in all without. */
  withSeconds: number;
  withoutSeconds: number;
  /** withSeconds ÷ withoutSeconds (equal windows). */
  ratio: number;
  /** CPU share of one core in the windows without a tick (1 = one core). */
  baseShare: number;
}

export function pairFigures(pair: RoundPair<DigestBoundary>): PairFigures {
  const cpu = (from: DigestBoundary, to: DigestBoundary) =>
    Object.fromEntries(DIGEST_PARTS.map((p) => [p, to.cpu[p].cpuSeconds - from.cpu[p].cpuSeconds])) as Record<DigestPart, number>;
  const other = (from: DigestBoundary, to: DigestBoundary) =>
    to.machineCpu - from.machineCpu - (to.benchCpu - from.benchCpu) - DIGEST_PARTS.reduce((a, p) => a + to.cpu[p].cpuSeconds - from.cpu[p].cpuSeconds, 0);
  return {
    tickAt: pair.tickAt,
    withMs: pair.mid.at - pair.start.at,
    withoutMs: pair.end.at - pair.mid.at,
    comparedWith: pair.mid.compared - pair.start.compared,
    comparedWithout: pair.end.compared - pair.mid.compared,
    divergedInPair: pair.end.diverged - pair.start.diverged,
    cpuWith: cpu(pair.start, pair.mid),
    cpuWithout: cpu(pair.mid, pair.end),
    otherWith: other(pair.start, pair.mid),
    otherWithout: other(pair.mid, pair.end),
    agentWrittenWith: pair.mid.agentIo.wchar - pair.start.agentIo.wchar,
    agentWrittenWithout: pair.end.agentIo.wchar - pair.mid.agentIo.wchar,
    agentReadWith: pair.mid.agentIo.rchar - pair.start.agentIo.rchar,
    agentReadWithout: pair.end.agentIo.rchar - pair.mid.agentIo.rchar,
  };
}

export function difference(values: number[], resolution: number): Difference {
  const n = values.length;
  if (n === 0) return { mean: NaN, min: NaN, max: NaN, stdError: NaN, resolved: undefined };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : NaN;
  const stdError = sd / Math.sqrt(n);
  return { mean, min: Math.min(...values), max: Math.max(...values), stdError, resolved: n > 1 ? mean > 2 * stdError && mean > resolution : undefined };
}

export function partFigures(pairs: PairFigures[], part: DigestPart): PartFigures {
  const withSeconds = pairs.reduce((a, p) => a + p.cpuWith[part], 0);
  const withoutSeconds = pairs.reduce((a, p) => a + p.cpuWithout[part], 0);
  const withoutWallSeconds = pairs.reduce((a, p) => a + p.withoutMs / 1000, 0);
  return {
    ...difference(
      pairs.map((p) => p.cpuWith[part] - p.cpuWithout[part]),
      CPU_RESOLUTION_SECONDS,
    ),
    withSeconds,
    withoutSeconds,
    ratio: withSeconds / withoutSeconds,
    baseShare: withoutSeconds / withoutWallSeconds,
  };
}
