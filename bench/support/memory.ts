import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { sleep } from './processes.ts';

const KIB = 1024;

/** Resident set size of a process in bytes: VmRSS from /proc on Linux, `ps -o rss=` elsewhere. */
export function residentBytes(pid: number): number {
  const status = `/proc/${pid}/status`;
  if (existsSync(status)) {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(status, 'utf8'));
    if (!match) throw new Error(`no VmRSS in ${status}`);
    return Number(match[1]) * KIB;
  }
  const out = execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim();
  const kib = Number(out);
  if (!Number.isFinite(kib) || out === '') throw new Error(`cannot read the resident size of process ${pid}`);
  return kib * KIB;
}

export interface RssSample {
  /** Median of the samples, bytes. */
  medianBytes: number;
  samplesBytes: number[];
}

/** Takes `count` RSS samples `intervalMs` apart and returns their median. */
export async function sampleResident(pid: number, count: number, intervalMs: number): Promise<RssSample> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    if (i > 0) await sleep(intervalMs);
    samples.push(residentBytes(pid));
  }
  return { medianBytes: median(samples), samplesBytes: samples };
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
