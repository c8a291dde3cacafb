import { readFileSync } from 'node:fs';

/**
 * What Linux says about a process, from /proc: CPU time used so far (user + system, children not
 * included) and resident memory now and at its peak. Linux only; the scale benchmark needs it.
 */
const KIB = 1024;
/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcSample {
  /** performance.now() when sampled. */
  at: number;
  /** User + system CPU seconds since the process started. */
  cpuSeconds: number;
  rssBytes: number;
  /** Peak resident size so far (VmHWM). */
  peakRssBytes: number;
}

export function procSample(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  const hwm = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
  return {
    at: performance.now(),
    cpuSeconds: ticks / CLOCK_TICKS_PER_SECOND,
    rssBytes: Number(rss?.[1] ?? NaN) * KIB,
    peakRssBytes: Number(hwm?.[1] ?? NaN) * KIB,
  };
}

/** CPU seconds used between two samples ÷ wall seconds: 1.0 = one core busy. */
export function cpuShare(from: ProcSample, to: ProcSample): number {
  const wall = (to.at - from.at) / 1000;
  return wall > 0 ? (to.cpuSeconds - from.cpuSeconds) / wall : NaN;
}

/**
 * CPU seconds every process on the machine has used since boot, all CPUs together (/proc/stat: user, nice,
 * system, irq, softirq and steal; idle and iowait are not busy). Less the benchmark's own processes, it says
 * how much else ran on a shared machine during a window.
 */
export function machineCpuSeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / CLOCK_TICKS_PER_SECOND;
}

/** This process's own CPU seconds (the benchmark measures its own load too). */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/**
 * Samples processes every `intervalMs` in the background (RSS and CPU), keeping every sample, so a
 * phase's peak and average can be read afterwards.
 */
export class ProcMonitor {
  readonly samples = new Map<string, ProcSample[]>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pids: () => Record<string, number | undefined>,
    private readonly intervalMs = 500,
  ) {}

  start(): void {
    this.sampleNow();
    this.timer = setInterval(() => this.sampleNow(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  sampleNow(): Record<string, ProcSample> {
    const out: Record<string, ProcSample> = {};
    for (const [name, pid] of Object.entries(this.pids())) {
      if (pid === undefined) continue;
      try {
        const sample = procSample(pid);
        out[name] = sample;
        let list = this.samples.get(name);
        if (!list) this.samples.set(name, (list = []));
        list.push(sample);
      } catch {
        // The process has exited.
      }
    }
    return out;
  }

  /** The largest RSS sampled for `name` between two performance.now() times. */
  maxRss(name: string, from: number, to: number): number {
    let max = NaN;
    for (const s of this.samples.get(name) ?? []) if (s.at >= from && s.at <= to && !(s.rssBytes <= max)) max = s.rssBytes;
    return max;
  }
}
