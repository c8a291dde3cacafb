import { formatRatio, type Table } from './report.ts';

/**
 * CPU of the initial sync per object, next to the JSON.parse floor, and how busy the processes kept the
 * machine's cores. CPU-seconds per object is the figure that carries across machine states (a shared
 * machine changes the sync's wall time, much less the CPU each object costs); the floor, measured in the
 * same run, puts it on the same scale.
 */

export const SYNC_CPU_PARTS = ['agent', 'hub', 'sim', 'bench'] as const;
export type SyncCpuPart = (typeof SYNC_CPU_PARTS)[number];

export interface SyncCpuPartFigures {
  cpuSeconds: number;
  /** CPU µs per object synced. */
  microsPerObject: number;
  /** microsPerObject ÷ the floor's µs per object. */
  floorMultiple: number;
  /** CPU seconds ÷ (cores × the sync's seconds): this process's share of the whole machine. */
  utilisation: number;
}

export interface SyncCpuFigures {
  cores: number;
  objects: number;
  /** The wall time the CPU figures cover (from the first sample after the agent's start to synced), s. */
  windowSeconds: number;
  /** 1e6 ÷ the floor's objects/s: what UTF-8 decoding and JSON.parse of the list pages cost per object. */
  floorMicrosPerObject: number;
  parts: Record<SyncCpuPart, SyncCpuPartFigures>;
  /** The agent and the hub together: our code. */
  agentAndHub: SyncCpuPartFigures;
  /** (agent + hub + sim + benchmark process) CPU ÷ (cores × window): how busy the sync kept the machine. */
  utilisation: number;
  /** Every other process on the machine meanwhile, the same way. */
  otherCpuSeconds: number;
  otherUtilisation: number;
}

export function syncCpuFigures(input: {
  cpuSeconds: Record<SyncCpuPart, number>;
  otherCpuSeconds: number;
  windowSeconds: number;
  objects: number;
  cores: number;
  floorObjectsPerSecond: number;
}): SyncCpuFigures {
  const floorMicrosPerObject = 1e6 / input.floorObjectsPerSecond;
  const capacity = input.cores * input.windowSeconds;
  const part = (cpuSeconds: number): SyncCpuPartFigures => {
    const microsPerObject = (cpuSeconds * 1e6) / input.objects;
    return { cpuSeconds, microsPerObject, floorMultiple: microsPerObject / floorMicrosPerObject, utilisation: cpuSeconds / capacity };
  };
  const parts = Object.fromEntries(SYNC_CPU_PARTS.map((p) => [p, part(input.cpuSeconds[p])])) as Record<SyncCpuPart, SyncCpuPartFigures>;
  const ours = SYNC_CPU_PARTS.reduce((sum, p) => sum + input.cpuSeconds[p], 0);
  return {
    cores: input.cores,
    objects: input.objects,
    windowSeconds: input.windowSeconds,
    floorMicrosPerObject,
    parts,
    agentAndHub: part(input.cpuSeconds.agent + input.cpuSeconds.hub),
    utilisation: ours / capacity,
    otherCpuSeconds: input.otherCpuSeconds,
    otherUtilisation: input.otherCpuSeconds / capacity,
  };
}

/** 87.2 → "87 µs", 9.64 → "9.6 µs", 0.512 → "0.51 µs". */
export function formatMicros(us: number): string {
  if (!Number.isFinite(us)) return 'n/a';
  return `${us >= 100 ? us.toFixed(0) : us >= 1 ? us.toPrecision(2) : us.toFixed(2)} µs`;
}

const formatShare = (share: number) => (Number.isFinite(share) ? `${(share * 100).toFixed(1)}%` : 'n/a');

export function syncCpuTable(c: SyncCpuFigures): Table {
  const row = (label: string, f: SyncCpuPartFigures) => [
    label,
    f.cpuSeconds.toFixed(1),
    formatMicros(f.microsPerObject),
    formatRatio(f.floorMultiple),
    formatShare(f.utilisation),
  ];
  const ours = SYNC_CPU_PARTS.reduce((sum, p) => sum + c.parts[p].cpuSeconds, 0);
  return {
    title: `CPU during the initial sync: per object against the JSON.parse floor, and the share of the ${c.cores} cores used`,
    header: ['', 'CPU s', 'per object', '× floor', `of ${c.cores} cores`],
    rows: [
      ['JSON.parse floor', '', formatMicros(c.floorMicrosPerObject), '1×', ''],
      row('agent', c.parts.agent),
      row('hub', c.parts.hub),
      row('agent + hub', c.agentAndHub),
      row('sim (the API servers’ stand-in)', c.parts.sim),
      row('benchmark process (its polls)', c.parts.bench),
      ['all four: CPU utilisation during the sync', ours.toFixed(1), '', '', formatShare(c.utilisation)],
      ['other processes on the machine (not ours)', c.otherCpuSeconds.toFixed(1), '', '', formatShare(c.otherUtilisation)],
    ],
    notes: [
      `Per object = CPU seconds from the agent's start to synced ÷ ${c.objects.toLocaleString('en-US')} objects; × floor = that ÷ the floor's ${formatMicros(c.floorMicrosPerObject)} per object (1 ÷ its objects/s, one core). The sim stands in for the clusters' API servers: its share is not our code's and counts in no per-object target.`,
      `of ${c.cores} cores = CPU seconds ÷ (${c.cores} cores × ${c.windowSeconds.toFixed(1)} s of sync). CPU utilisation = agent + hub + sim + the benchmark process together; a sync bound by CPU comes close to 100%, one that waits leaves the rest idle (see the timeline).`,
    ],
  };
}
