/**
 * `npm run bench -- scale`: many clusters through one agent and one hub on this machine. The sim hosts
 * --clusters virtual clusters of about --objects objects each (bench/support/scale-workload.ts: Deployments,
 * ReplicaSets, Pods, Services, ConfigMaps, Secrets and a custom kind); one `scale-agent agent` carries
 * every cluster as an account (infrastructure mode) and one `scale-agent hub` keeps them in SQLite,
 * PostgreSQL or MySQL/MariaDB. It measures:
 *
 * - the initial sync: from the agent's start until the hub holds every object, in objects/s next to the
 *   floor of `JSON.parse` of the same list bytes (measured in the same run);
 * - at each steady churn rate: how long a change written to the sim takes to be visible at the hub — in
 *   its database (every change; a read-only reader polls by primary key) and through GET /manifests (a
 *   sample) — as p50/p90/p99/max;
 * - the sync's CPU: per object for the agent, the hub and the sim (µs, and as a multiple of the floor's
 *   µs per object), and the share of the machine's cores they used together with the benchmark process;
 * - a timeline of the sync (bench/support/sync-timeline.ts): every second each process's CPU, the hub's
 *   commits and ingest backlog, and the agent's pipeline from its /accounts (listed, pending, batches
 *   unacknowledged), in slices, to show where the pipeline waits when the cores are not busy;
 * - resident memory and CPU of the agent, the hub and the sim; memory per object and per account (the
 *   agent is also run with as many idle accounts and with none);
 * - anti-entropy: after the churn, --digest-rounds rounds of the agent's digest timer (every feed's digest
 *   compared by the hub with its rows), each as CPU in a window holding a tick minus an equal window
 *   without, per process, per million objects, and bytes the agent wrote (bench/support/digest-rounds.ts).
 *   The churn windows are placed between those rounds.
 *
 * Results: bench/results/scale-<name>.json, .md (tables) and .svg (latency percentiles against churn
 * rate). See docs/performance.md ("scale") for what each figure means and the results.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import { DEFAULT_DIGEST_INTERVAL_SECONDS } from '../src/agent/config.ts';
import { encodeBatchRequest } from '../src/agent/sync/batch-encoder.ts';
import type { ApiResource } from '../src/kube/index.ts';
import { spinnakerKindName } from '../src/hub/store/kind-names.ts';
import { mysqlServer, postgresServer, type Server } from '../test/support/database-servers.ts';
import { collectGarbage, INSPECT_ARG, InspectorSession, inspectorUrl } from './support/inspector.ts';
import { benchHubConfig } from './support/hub-database.ts';
import {
  DIGEST_PARTS,
  DigestTicks,
  difference,
  LEAD_MS,
  pairFigures,
  partFigures,
  procIo,
  type DigestBoundary,
  type DigestPart,
  type HubDigestCounters,
  type PairFigures,
  type PartFigures,
} from './support/digest-rounds.ts';
import { openHubReader, type ObjectKey } from './support/hub-reader.ts';
import { agentKindName, clientFor, listRaw, resolveKinds } from './support/kube-lists.ts';
import { median } from './support/memory.ts';
import { metricSum } from './support/parts.ts';
import { cpuShare, machineCpuSeconds, ownCpuSeconds, procSample, ProcMonitor, type ProcSample } from './support/proc-stats.ts';
import { syncCpuFigures, syncCpuTable, formatMicros, type SyncCpuFigures } from './support/sync-cpu.ts';
import { hubProgressOf, SyncTimeline } from './support/sync-timeline.ts';
import { sliceSecondsFor, timelineSlices, timelineTables } from './support/sync-timeline-report.ts';
import { poll, ProcessRegistry, REPO_ROOT, sleep, type BenchProcess } from './support/processes.ts';
import { environment, formatBytes, formatCount, formatRatio, formatSeconds, renderMarkdown, renderText, writeResults, type Table } from './support/report.ts';
import type { ScaleSimOptions } from './support/scale-sim-process.ts';
import { SCALE_KINDS } from './support/scale-workload.ts';
import { renderLogLogPlot } from './support/svg-plot.ts';
import { nonNegativeInt, nonNegativeNumber, positiveInt } from './support/cli-args.ts';

type Engine = 'sqlite' | 'postgres' | 'mysql';
const ENGINES: readonly Engine[] = ['sqlite', 'postgres', 'mysql'];

interface ScaleFlags {
  clusters: number;
  objects: number;
  kinds: string[];
  churn: number[];
  churnSeconds: number;
  churnWarmupSeconds: number;
  database: Engine;
  name?: string;
  restSamples: number;
  floorClusters: number;
  parseRepetitions: number;
  baselines: boolean;
  serverSideApply: boolean;
  historyLimit: number;
  settleSeconds: number;
  samples: number;
  sampleIntervalMs: number;
  accountStartIntervalMs?: number;
  agentEnv: string[];
  agentSet: Array<[string[], unknown]>;
  digestRounds: number;
  digestIntervalSeconds: number;
  timelineAgentSeconds?: number;
  profile: boolean;
  timeoutSeconds: number;
  out: string;
  keepTemp: boolean;
}

function rateList(value: string): number[] {
  const rates = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const out = rates.map((s) => {
    const m = /^(\d+(?:\.\d+)?)(k?)$/i.exec(s);
    if (!m || Number(m[1]) <= 0) throw new InvalidArgumentError(`"${s}" is not a rate (e.g. 100, 2k)`);
    return Number(m[1]) * (m[2] ? 1000 : 1);
  });
  return out;
}

function kindList(value: string): string[] {
  if (value.trim() === 'all') return [];
  const kinds = value
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
  if (kinds.length === 0) throw new InvalidArgumentError('must name at least one kind, or "all"');
  return kinds;
}

/** `--agent-set kubernetes.accountInitConcurrency=64`: a dotted path into the agent's configuration and a JSON (or plain string) value. */
function settingList(value: string, previous: Array<[string[], unknown]>): Array<[string[], unknown]> {
  const eq = value.indexOf('=');
  if (eq <= 0 || !/^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$/.test(value.slice(0, eq))) throw new InvalidArgumentError('must be path.to.key=value');
  const raw = value.slice(eq + 1);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = raw;
  }
  return [...previous, [value.slice(0, eq).split('.'), parsed]];
}

function applySetting(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function envList(value: string, previous: string[]): string[] {
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(value)) throw new InvalidArgumentError('must be NAME=value');
  return [...previous, value];
}

export function registerScaleBenchmark(program: Command): void {
  program
    .command('scale')
    .description(
      'Many clusters through one agent and one hub: initial-sync time and objects/s vs the JSON.parse floor, change visibility latency at steady churn rates, memory and CPU of agent and hub',
    )
    .option('--clusters <n>', 'virtual clusters in the sim, one agent account each', positiveInt, 1000)
    .option('--objects <n>', 'objects per cluster (about: whole applications of 8 objects are created)', positiveInt, 1000)
    .addOption(
      new Option('--kinds <list>', 'kinds the agent watches, in its `kinds` syntax; "all" = every kind it watches by default')
        .argParser(kindList)
        .default([...SCALE_KINDS], SCALE_KINDS.join(',')),
    )
    .addOption(
      new Option('--churn <rates>', 'steady churn rates to measure, changes/s across all clusters, comma-separated; 0 skips')
        .argParser((v) => (v.trim() === '0' ? [] : rateList(v)))
        .default([100, 500, 2000], '100,500,2000'),
    )
    .option('--churn-seconds <s>', 'measured seconds per churn rate', nonNegativeNumber, 30)
    .option('--churn-warmup-seconds <s>', 'seconds of churn before each measurement starts', nonNegativeNumber, 5)
    .addOption(
      new Option(
        '--database <engine>',
        "the hub's database: sqlite (temporary file), postgres or mysql (temporary databases on the test servers, see test/support/database-servers.ts)",
      )
        .choices([...ENGINES])
        .default('sqlite'),
    )
    .option('--name <name>', 'results go to scale-<name>.json/.md/.svg (default: the database engine)')
    .option('--rest-samples <n>', 'changes per second also timed through GET /manifests (polled every 2 ms)', nonNegativeNumber, 10)
    .option('--floor-clusters <n>', 'clusters whose lists are timed for the JSON.parse floor (the floor is a rate, objects/s)', positiveInt, 100)
    .option('--parse-repetitions <n>', 'repetitions of the JSON.parse floor per page set (the fastest counts)', positiveInt, 3)
    .option('--no-baselines', 'skip the agent runs with no accounts and with idle accounts (memory per account)')
    .option('--no-server-side-apply', 'seed with plain creates (no managedFields) instead of server-side apply')
    .option('--history-limit <n>', 'events the sim keeps per cluster (a real API server keeps about five minutes)', positiveInt, 500)
    .option('--settle-seconds <s>', 'pause after a sync before memory is sampled (V8 gives memory back some seconds after a burst)', nonNegativeNumber, 30)
    .option('--samples <n>', 'resident-memory samples per measurement (the median is reported)', positiveInt, 5)
    .option('--sample-interval-ms <ms>', 'pause between memory samples', nonNegativeInt, 500)
    .option('--account-start-interval-ms <ms>', "the agent's kubernetes.accountStartIntervalMs (default: the agent's default)", nonNegativeInt)
    .option('--agent-env <NAME=value>', 'environment variable for the agent process (repeatable), e.g. MALLOC_TRIM_THRESHOLD_=131072', envList, [])
    .option('--agent-set <path=value>', "set a key of the agent's configuration (repeatable), e.g. kubernetes.accountInitConcurrency=64", settingList, [])
    .option(
      '--digest-rounds <n>',
      'anti-entropy rounds measured after the churn, each in a window with a round against an equal window without; 0 skips them and runs the agent with clouddriver.digestIntervalSeconds 0 (digests only after reconnects)',
      nonNegativeInt,
      3,
    )
    .option(
      '--digest-interval-seconds <s>',
      "the workload agent's clouddriver.digestIntervalSeconds for the run (with --digest-rounds > 0); churn windows are placed between its rounds",
      positiveInt,
      60,
    )
    .option(
      '--timeline-agent-seconds <s>',
      "how often the sync timeline reads the agent's GET /accounts and /metrics (its pipeline: listed, pending, unacknowledged batches, acknowledgements, GC); 0 = never. Default: --clusters ÷ 200, 1 to 10 s (a read costs the agent CPU in proportion to its accounts)",
      nonNegativeNumber,
    )
    .option(
      '--profile',
      'CPU profiles of the agent, the hub and the sim during the initial sync and each churn window (over their inspectors), in bench/results/scale-<name>-profiles/',
      false,
    )
    .option('--timeout-seconds <s>', 'stop everything and fail after this long', positiveInt, 3600)
    .option('--out <dir>', 'directory for the results', 'bench/results')
    .option('--keep-temp', 'keep the temporary directory (kubeconfigs, configurations, the SQLite file)', false)
    .action(async (flags: ScaleFlags) => {
      await runScaleBenchmark(flags);
    });
}

/** What each phase measured. */
interface SyncResult {
  accounts: number;
  objects: number;
  feeds: number;
  /** From the agent process's start until the hub had committed everything, ms. */
  syncMs: number;
  /** From the agent process's start until it logged "agent started" (every account discovered), ms. */
  startedMs: number;
  /** From the agent process's start until the last feed had listed (entered watching), ms. */
  listedMs?: number;
  rss: number;
  rssAfterGc: number;
  heapUsedAfterGc: number;
  heapTotalAfterGc: number;
  externalAfterGc: number;
  peakRss: number;
  hubRss: number;
  hubPeakRss: number;
  /** The hub's V8 heap in use and reserved, and its external memory, after the sync (its /metrics). */
  hubHeapUsed: number;
  hubHeapTotal: number;
  hubExternal: number;
  /** SQLite only: the database file and its write-ahead log after the sync, bytes. */
  databaseBytes?: number;
  walBytes?: number;
  /** The largest the write-ahead log was during the sync. */
  walPeakBytes?: number;
  simRss: number;
  /** CPU seconds used during the sync (process start → synced). */
  agentCpuSeconds: number;
  hubCpuSeconds: number;
  simCpuSeconds: number;
  /** CPU seconds the benchmark process used meanwhile (its polls of the hub and the timeline's reads). */
  benchCpuSeconds: number;
  /** CPU seconds every other process on the machine used meanwhile (not the agent, hub, sim or benchmark): a shared machine shows here. */
  otherCpuSeconds: number;
  /** The wall time the CPU seconds above cover: from the first sample after the agent's start to synced, s. */
  cpuWindowSeconds: number;
  changesCommitted: number;
  /**
   * Feed digests the hub had compared when synced, and by the memory samples (--settle-seconds later):
   * those asked for when each account's stream opened (a feed sends its digest once its list is done),
   * and those of interval ticks during the sync.
   */
  digestsCompared: number;
  digestsComparedBySettle: number;
  /** The agent's anti-entropy interval in this run (s; 0 = only after reconnects) and how many of its ticks fell before the sync ended. */
  digestIntervalSeconds: number;
  digestTicksDuringSync: number;
  loadAverage: number[];
}

interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

interface ChurnResult {
  rate: number;
  /** Changes made per second in the measured window (the driver may fall behind under load). */
  achievedRate: number;
  measuredChanges: number;
  /** Measured changes the hub did not show within the grace after the window. */
  unseen: number;
  db: LatencySummary;
  /** How much earlier than measured each change may have become visible: since the last lookup that missed it. */
  uncertainty: LatencySummary;
  /** Of the DB latency: written → the hub took up the batch (its updated_at, ms resolution)… */
  toHub: LatencySummary;
  /** …and the hub took it up → visible in its database. */
  inHub: LatencySummary;
  rest: LatencySummary;
  /** Mean pause between two database polls of the visibility reader, ms. */
  meanPollIntervalMs: number;
  /** Primary-key lookups per second the reader made. */
  lookupsPerSecond: number;
  agentCpu: number;
  hubCpu: number;
  simCpu: number;
  benchCpu: number;
  agentRssMax: number;
  hubRssMax: number;
  loadAverage: number[];
  lateTicks: number;
  /** Batches the agent sent (acknowledged) in the window, and their mean time from write to acknowledgement. */
  batches: number;
  meanAckMs: number;
  /** Event-loop delay of each process over the window (p50, p99, max), ms. */
  eventLoopDelayMs: Record<'agent' | 'hub' | 'sim', { p50: number; p99: number; max: number }>;
  simWatches: number;
  /** Totals over every feed at the end of the window (since the agent started). */
  relists: number;
  watchRestarts: number;
  /** CPU share (1 = one core) every other process on the machine used over the window: a shared machine shows here. */
  otherCpu: number;
  /** Feed digests the hub compared between the scrapes that bracket the measured window (0 when it was kept clear of rounds). */
  digestsCompared: number;
  /** How long the benchmark waited before the warm-up for an anti-entropy round to pass, ms. */
  digestWaitMs: number;
  /** The window could not be kept clear of a tick (interval too short for warm-up + window). */
  digestOverlap: boolean;
}

/** Anti-entropy rounds measured in the same run (see bench/support/digest-rounds.ts). */
interface DigestResult {
  intervalSeconds: number;
  /** Length of each window (one with a tick, one without), ms. */
  windowMs: number;
  feeds: number;
  objects: number;
  /** The first tick after the churn, seen through the hub's counter (not measured: it anchors the schedule). */
  warmUp?: { at: number; compared: number; roundMs: number };
  pairs: PairFigures[];
  /** Rounds whose tick fell in its window and whose comparisons all ended there. */
  roundsCompleted: number;
  /** Pairs whose window without a tick still saw comparisons (the round outlasted its window). */
  spilled: number;
  comparedPerRound: number;
  cpu: Record<DigestPart, PartFigures>;
  /** Bytes the agent wrote / read through system calls, with − without, per round (measured). */
  agentWrittenPerRound: ReturnType<typeof difference>;
  agentReadPerRound: ReturnType<typeof difference>;
  /** Protobuf bytes of the digests: one batch per account carrying every feed's digest, and one message per feed as the digest benchmark counts it (computed). */
  computedBytesPerRound: { perAccountBatches: number; perFeedMessages: number; perFeedMessageBytes: number };
  /** The last round as the agent saw it: feeds whose digest the hub found equal after its tick, and from the tick to the last acknowledgement, ms. */
  lastRound?: { matchedFeeds: number; durationMs: number };
  divergences: { hub: number; agent: number };
  /** Relists and watch restarts of the agent's feeds during the phase (each adds work of its own to the windows). */
  relists: number;
  watchRestarts: number;
  /** CPU share (1 = one core) of every other process on the machine, in the windows with a tick and in those without. */
  otherShare: { with: number; without: number };
}

const GC_PAUSE_MS = 1000;
/** Issue 22's "Done when": the sync's time, speed against the floor, CPU utilisation and CPU per object of the agent and the hub. */
const SYNC_TARGET_SECONDS = 60;
const SYNC_TARGET_FLOOR_RATIO = 0.25;
const SYNC_TARGET_UTILISATION = 0.9;
const AGENT_TARGET_FLOOR_MULTIPLE = 3;
const HUB_TARGET_FLOOR_MULTIPLE = 2;

/** One row of the targets table, with its figures for machines to read. */
interface TargetRow {
  id: string;
  target: string;
  value: string;
  /** null: not measured in this run. */
  met: boolean | null;
  measured: number | null;
  limit: number;
  unit: string;
  figures?: Record<string, number>;
}

/** The sync timeline samples CPU (and takes the hub's latest counters) this often. */
const TIMELINE_INTERVAL_MS = 1000;
/**
 * The timeline reads the agent's /accounts and /metrics every --clusters ÷ this many seconds (within the
 * bounds below): a read costs the agent in proportion to its accounts, so this keeps its cost per second
 * about the same at any scale (at 1,000 accounts, some tens of ms every 5 s).
 */
const ACCOUNTS_PER_AGENT_PROBE_SECOND = 200;
const MIN_AGENT_PROBE_SECONDS = 1;
const MAX_AGENT_PROBE_SECONDS = 10;
/**
 * V8 options of the sim process. A larger young generation (64 MiB semi-spaces instead of 16) lets the
 * short-lived strings of list rendering die young instead of being promoted into a heap that holds every
 * object of every cluster: at 300 clusters it cut the sim's scavenges during the sync from 68 to 16 and
 * its CPU by a fifth (docs/performance.md, "scale"). A real API server is not a Node process; this only
 * keeps the stand-in from taking the agent's and the hub's CPU.
 */
const SIM_NODE_ARGS = ['--max-semi-space-size=64'];
/** Room for the scrapes before and after a churn window (the agent's /metrics takes seconds at 2,000 changes/s) when it is kept clear of anti-entropy rounds. */
const CHURN_SCRAPE_SLACK_MS = 10_000;
/** After a churn window, how long measured changes may take to show up before they count as unseen. */
const VISIBILITY_GRACE_MS = 30_000;
const REST_POLL_MS = 2;
/** The visibility reader's tick: objects due are looked up every millisecond. */
const DB_POLL_MS = 1;
/** Objects not yet showing their change are looked at again after this share of the time waited so far… */
const POLL_FRACTION = 0.1;
/** …but at least this often. */
const MAX_POLL_MS = 20;
/** The reader's budget: lookups per second (each costs the benchmark process a few microseconds of a shared core). */
const READER_LOOKUPS_PER_SECOND = 15_000;
const clock = () => performance.timeOrigin + performance.now();

/** A process counts as idle when it used less than this share of one CPU over IDLE_WINDOW_MS… */
const IDLE_CPU_SHARE = 0.05;
const IDLE_WINDOW_MS = 1000;
/** …and the floor is timed anyway after this long, with a note in the output. */
const IDLE_TIMEOUT_MS = 60_000;

/** Whether process `pid` became idle for IDLE_WINDOW_MS within IDLE_TIMEOUT_MS. */
async function untilIdle(pid: number): Promise<boolean> {
  const deadline = performance.now() + IDLE_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const from = procSample(pid);
    await sleep(IDLE_WINDOW_MS);
    if (cpuShare(from, procSample(pid)) < IDLE_CPU_SHARE) return true;
  }
  return false;
}

const log = (startedAt: number, message: string) =>
  process.stderr.write(`[scale ${((performance.now() - startedAt) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);

function summarize(values: number[]): LatencySummary {
  if (values.length === 0) return { count: 0, p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
  return {
    count: sorted.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: sorted[sorted.length - 1]!,
    mean: values.reduce((a, b) => a + b, 0) / values.length,
  };
}

/** A binary min-heap (the visibility reader's schedule). */
class MinHeap<T> {
  private readonly items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => number) {}
  get size(): number {
    return this.items.length;
  }
  peek(): T | undefined {
    return this.items[0];
  }
  push(item: T): void {
    const items = this.items;
    items.push(item);
    for (let i = items.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (this.less(items[i]!, items[parent]!) >= 0) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }
  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && this.less(items[l]!, items[m]!) < 0) m = l;
        if (r < items.length && this.less(items[r]!, items[m]!) < 0) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m]!, items[i]!];
        i = m;
      }
    }
    return top;
  }
}

/** The hub's anti-entropy counters, summed over every account and kind. */
const digestCountersOf = (text: string): HubDigestCounters => ({
  compared: metricSum(text, 'scale_agent_hub_feed_digests_compared_total'),
  diverged: metricSum(text, 'scale_agent_hub_cache_divergence_total'),
});

const formatMs = (ms: number) => (Number.isFinite(ms) ? (ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toPrecision(2)} ms`) : 'n/a');
/** A per-round difference: "1.23 s (1.10–1.40)", or "within noise" when it does not stand clear of it. */
const formatDiff = (d: { mean: number; min: number; max: number; stdError: number; resolved: boolean | undefined }, digits = 2) => {
  if (!Number.isFinite(d.mean)) return 'n/a';
  const [min, max] = [d.min.toFixed(digits), d.max.toFixed(digits)];
  const text = `${d.mean.toFixed(digits)} s${min !== max ? ` (${min}–${max})` : ''}`;
  return d.resolved === false ? `${text}, within noise (±${(2 * d.stdError).toFixed(digits)})` : text;
};
const formatPercent = (share: number) => (Number.isFinite(share) ? `${(share * 100).toFixed(0)}%` : 'n/a');

export async function runScaleBenchmark(flags: ScaleFlags): Promise<void> {
  const t0 = performance.now();
  const startedAt = new Date();
  const loadAtStart = loadavg();
  const name = flags.name ?? flags.database;
  const deadline = t0 + flags.timeoutSeconds * 1000;
  const remaining = () => Math.max(1000, deadline - performance.now());
  const say = (message: string) => log(t0, message);
  const registry = new ProcessRegistry();
  const dir = mkdtempSync(join(tmpdir(), 'scale-agent-bench-scale-'));
  const outDir = resolve(REPO_ROOT, flags.out);
  const profileDir = join(outDir, `scale-${name}-profiles`);
  if (flags.profile) {
    rmSync(profileDir, { recursive: true, force: true });
    mkdirSync(profileDir, { recursive: true });
  }
  /** --profile: CPU profiles of the agent, the hub and the sim for each measured phase, over their inspectors. */
  const profileSessions: InspectorSession[] = [];
  // Read once: the line Node writes at start may later leave the process's kept output.
  const inspectorUrls = new Map<BenchProcess, string>();
  const inspectorOf = async (proc: BenchProcess) => {
    let url = inspectorUrls.get(proc);
    if (url === undefined) inspectorUrls.set(proc, (url = await inspectorUrl(proc, remaining())));
    return url;
  };
  const profilePhase = async (phase: string, processes: Record<string, BenchProcess>): Promise<(() => Promise<void>) | undefined> => {
    if (!flags.profile) return undefined;
    const sessions: Array<[string, InspectorSession]> = [];
    for (const [part, proc] of Object.entries(processes)) {
      const session = await InspectorSession.connect(await inspectorOf(proc));
      profileSessions.push(session);
      await session.startProfile();
      sessions.push([part, session]);
    }
    return async () => {
      for (const [part, session] of sessions) {
        await session.stopProfile(join(profileDir, `${phase}-${part}.cpuprofile`));
        session.close();
      }
    };
  };
  const guard = setTimeout(() => {
    process.stderr.write(`scale: gave up after --timeout-seconds ${flags.timeoutSeconds}; stopping every process\n`);
    registry.killAllNow();
    process.exit(1);
  }, flags.timeoutSeconds * 1000);
  guard.unref();
  const onSignal = () => {
    registry.killAllNow();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let server: Server | undefined;
  const databases: string[] = [];

  try {
    const loadNames = Array.from({ length: flags.clusters }, (_, i) => `load-${i + 1}`);
    const idleNames = flags.baselines ? Array.from({ length: flags.clusters }, (_, i) => `idle-${i + 1}`) : [];
    const kubeconfigDir = join(dir, 'kubeconfigs');
    const kubeconfig = (cluster: string) => join(kubeconfigDir, `${cluster}.yaml`);

    // --- the database --------------------------------------------------------------------------------
    if (flags.database === 'postgres') server = await postgresServer();
    if (flags.database === 'mysql') server = await mysqlServer();
    let runCounter = 0;
    const newDatabaseUrl = async (): Promise<string> => {
      runCounter++;
      if (server === undefined) return `sqlite:${join(dir, `hub-${runCounter}.db`)}`;
      const url = await server.create();
      databases.push(url);
      return url;
    };

    // --- the sim -------------------------------------------------------------------------------------
    say(
      `starting the sim: ${flags.clusters} clusters of ~${formatCount(flags.objects)} objects${idleNames.length > 0 ? `, ${idleNames.length} idle clusters` : ''}`,
    );
    const simOptions: ScaleSimOptions = {
      loadClusters: flags.clusters,
      idleClusters: idleNames.length,
      objectsPerCluster: flags.objects,
      kubeconfigDir,
      serverSideApply: flags.serverSideApply,
      historyLimit: flags.historyLimit,
      seed: 1,
    };
    // The sim holds every object as JSON (about 2 KiB each with its event history): give it room.
    const simHeapMiB = Math.max(4096, Math.ceil((flags.clusters * flags.objects * 10) / 1024));
    const sim = registry.spawnTs('sim', 'bench/support/scale-sim-process.ts', [JSON.stringify(simOptions)], {
      stdin: true,
      nodeArgs: [`--max-old-space-size=${simHeapMiB}`, ...SIM_NODE_ARGS, ...(flags.profile ? [INSPECT_ARG] : [])],
    });
    const simReady = await sim.waitForJson<{
      seedMs: number;
      objects: number;
      plan: Record<string, number>;
      churnKinds: Array<{ group: string; kind: string }>;
      url: string;
    }>((r) => r.type === 'ready', remaining(), 'the sim to start and seed the workload');
    say(`sim ready: ${formatCount(simReady.objects)} objects in all clusters, seeded in ${formatSeconds(simReady.seedMs)}`);
    if (flags.profile) await inspectorOf(sim);
    const simAsk = async <T>(command: Record<string, unknown>, answer: string): Promise<T> => {
      const reply = sim.waitForJson<T & { type: string; message?: string }>(
        (r) => r.type === answer || r.type === 'error',
        remaining(),
        `the sim to answer ${command.cmd}`,
      );
      sim.send(JSON.stringify(command));
      const r = await reply;
      if (r.type === 'error') throw new Error(`the sim failed ${command.cmd}: ${r.message}`);
      return r;
    };

    const kinds: ApiResource[] = await resolveKinds(kubeconfig(loadNames[0]!), flags.kinds);
    const kindNames = kinds.map(agentKindName);
    const resourceIds = kinds.map((k) => `${k.group}/${k.resource}`);
    say(`the agent watches ${kinds.length} kinds: ${kindNames.join(', ')}`);
    const expected = (await simAsk<{ total: number }>({ cmd: 'count', resources: resourceIds, clusters: loadNames }, 'count')).total;
    const idleExpected =
      idleNames.length > 0 ? (await simAsk<{ total: number }>({ cmd: 'count', resources: resourceIds, clusters: idleNames }, 'count')).total : 0;
    say(`watched objects: ${formatCount(expected)} in the workload clusters, ${formatCount(idleExpected)} in the idle ones`);

    // --- the JSON.parse floor, on a sample of the clusters (it is a rate) -------------------------------
    const floorNames = loadNames.slice(0, Math.min(flags.floorClusters, loadNames.length));
    say(`timing the JSON.parse floor on the lists of ${floorNames.length} clusters (pages as the agent requests them)`);
    let floorObjects = 0;
    let floorBytes = 0;
    const floorPageSets: Array<{ pages: Buffer[]; objects: number }> = [];
    for (const cluster of floorNames) {
      const client = await clientFor(kubeconfig(cluster));
      try {
        const pages: Buffer[] = [];
        let objects = 0;
        for (const kind of kinds) {
          const raw = await listRaw(client, kind, true);
          pages.push(...raw.pages);
          objects += raw.objects;
          floorBytes += raw.bytes;
        }
        floorPageSets.push({ pages, objects });
        floorObjects += objects;
      } finally {
        await client.close();
      }
    }
    const floorPages = floorPageSets.reduce((sum, set) => sum + set.pages.length, 0);
    // Timed only once the sim is idle: right after seeding, its garbage collector's threads may still take
    // one of the two CPUs. (The floor still varies between runs on a shared machine; the results say so.)
    if (!(await untilIdle(sim.pid))) say(`the sim was still busy after ${IDLE_TIMEOUT_MS / 1000} s; timing the floor anyway`);
    let floorSeconds = 0;
    for (const { pages, objects } of floorPageSets) {
      let best = Infinity;
      for (let r = 0; r < flags.parseRepetitions; r++) {
        // CPU time, not wall time: on a shared machine the wall time of a parse grows with the others'
        // load, while the processes it is compared with are measured in CPU seconds too.
        const started = process.cpuUsage();
        let n = 0;
        for (const page of pages) n += (JSON.parse(page.toString('utf8')) as { items?: unknown[] }).items?.length ?? 0;
        const used = process.cpuUsage(started);
        best = Math.min(best, (used.user + used.system) / 1000);
        if (n !== objects) throw new Error(`parsed ${n} objects, listed ${objects}`);
      }
      floorSeconds += best / 1000;
    }
    floorPageSets.length = 0;
    const floor = {
      clusters: floorNames.length,
      objects: floorObjects,
      bytes: floorBytes,
      pages: floorPages,
      seconds: floorSeconds,
      objectsPerSecond: floorObjects / floorSeconds,
      meanObjectBytes: floorBytes / floorObjects,
    };
    say(
      `floor: ${formatCount(floor.objectsPerSecond)} objects/s (${formatCount(floorObjects)} objects, ${formatBytes(floorBytes)} in ${floorPages} pages, ${formatBytes(floor.meanObjectBytes)} per object)`,
    );

    // --- the hub and the agent -----------------------------------------------------------------------------
    const hubEnv = { LOG_LEVEL: 'info' };
    const agentProbeSeconds =
      flags.timelineAgentSeconds ?? Math.min(MAX_AGENT_PROBE_SECONDS, Math.max(MIN_AGENT_PROBE_SECONDS, flags.clusters / ACCOUNTS_PER_AGENT_PROBE_SECOND));
    const startHub = async (databaseUrl: string, label: string, profile: boolean) => {
      // Plaintext gRPC admitting any agent (bench/support/hub-database.ts); everything else at its defaults.
      const configPath = join(dir, `hub-${label}.yaml`);
      writeFileSync(configPath, toYaml(benchHubConfig()));
      const proc = registry.spawnCli(
        `hub-${label}`,
        ['hub', '--config', configPath, '--host', '127.0.0.1', '--port', '0', '--grpc-port', '0', '--database', databaseUrl, '--log-format', 'json'],
        {
          env: hubEnv,
          nodeArgs: profile ? [INSPECT_ARG] : [],
        },
      );
      const started = await proc.waitForJson((r) => r.msg === 'hub started', remaining(), 'the hub to start');
      return { process: proc, restUrl: `http://127.0.0.1:${Number(started.rest)}`, grpcPort: Number(started.grpc), databaseUrl };
    };
    type Hub = Awaited<ReturnType<typeof startHub>>;
    /** Writes the agent's configuration; returns its effective anti-entropy interval (s). */
    const writeConfig = (path: string, hub: Hub, accounts: string[], digestIntervalSeconds?: number): number => {
      const kubernetes: Record<string, unknown> = { accounts: accounts.map((a) => ({ name: a, kubeconfigFile: kubeconfig(a), kinds: kindNames })) };
      if (flags.accountStartIntervalMs !== undefined) kubernetes.accountStartIntervalMs = flags.accountStartIntervalMs;
      const config: Record<string, unknown> = {
        agent: { id: 'bench-scale-agent' },
        clouddriver: { grpc: `127.0.0.1:${hub.grpcPort}`, insecure: true, ...(digestIntervalSeconds !== undefined ? { digestIntervalSeconds } : {}) },
        server: { host: '127.0.0.1', port: 0 },
        kubernetes,
        logging: { format: 'json' },
      };
      for (const [keyPath, value] of flags.agentSet) applySetting(config, keyPath, value);
      writeFileSync(path, toYaml(config, { aliasDuplicateObjects: false }));
      const interval = (config.clouddriver as Record<string, unknown> | undefined)?.digestIntervalSeconds;
      return typeof interval === 'number' ? interval : DEFAULT_DIGEST_INTERVAL_SECONDS;
    };
    const agentEnv: Record<string, string> = { LOG_LEVEL: 'info' };
    for (const entry of flags.agentEnv) agentEnv[entry.slice(0, entry.indexOf('='))] = entry.slice(entry.indexOf('=') + 1);
    const startAgentProcess = async (configPath: string) => {
      const proc = registry.spawnCli('agent', ['agent', '--config', configPath], { env: agentEnv, nodeArgs: [INSPECT_ARG] });
      const startedLine = proc.waitForJson((r) => r.msg === 'agent started', remaining(), 'the agent to start');
      return { process: proc, startedLine };
    };
    const hubCounters = async (hub: Hub): Promise<HubDigestCounters & { committed: number }> => {
      const text = await (await fetch(`${hub.restUrl}/metrics`)).text();
      return { committed: metricSum(text, 'scale_agent_hub_changes_committed_total'), ...digestCountersOf(text) };
    };
    const agentMetrics = async (adminUrl: string) => {
      const text = await (await fetch(`${adminUrl}/metrics`)).text();
      return {
        heapUsed: metricSum(text, 'nodejs_heap_size_used_bytes'),
        heapTotal: metricSum(text, 'nodejs_heap_size_total_bytes'),
        external: metricSum(text, 'nodejs_external_memory_bytes'),
        changesSent: metricSum(text, 'scale_agent_changes_sent_total'),
        bytesSent: metricSum(text, 'scale_agent_bytes_sent_total'),
      };
    };
    /** Event-loop delay since the previous scrape (prom-client resets its histogram on every scrape), ms. */
    const loopDelayOf = (text: string) => ({
      p50: metricSum(text, 'nodejs_eventloop_lag_p50_seconds') * 1000,
      p99: metricSum(text, 'nodejs_eventloop_lag_p99_seconds') * 1000,
      max: metricSum(text, 'nodejs_eventloop_lag_max_seconds') * 1000,
    });
    const sampleRss = async (pid: number) => {
      const values: number[] = [];
      for (let i = 0; i < flags.samples; i++) {
        if (i > 0) await sleep(flags.sampleIntervalMs);
        values.push(procSample(pid).rssBytes);
      }
      return median(values);
    };

    // Warm-up: the first start of each program fills tsx's compile cache; measure warm starts only.
    say('warming up: one start of the hub and the agent');
    {
      const hub = await startHub(await newDatabaseUrl(), 'warm-up', false);
      const configPath = join(dir, 'agent-warm-up.yaml');
      writeConfig(configPath, hub, []);
      const agent = await startAgentProcess(configPath);
      await agent.startedLine;
      await agent.process.stop();
      await hub.process.stop();
    }

    /**
     * One agent run with its own hub (a fresh database: every run is an initial sync). Synced = the hub
     * committed every object and both snapshot markers of every feed, and holds exactly `objects` objects.
     */
    const syncRun = async (label: string, accounts: string[], objects: number, keep: boolean, profile: boolean, digestInterval?: number) => {
      const hub = await startHub(await newDatabaseUrl(), label, profile && keep);
      const reader = await openHubReader(hub.databaseUrl);
      const configPath = join(dir, `agent-${label}.yaml`);
      const digestIntervalSeconds = writeConfig(configPath, hub, accounts, digestInterval);
      const feeds = accounts.length * kinds.length;
      const wantCommitted = objects + 2 * feeds;
      const agent = await startAgentProcess(configPath);
      // Read the inspector's address now: a thousand accounts' start-up lines push it out of the kept output.
      await inspectorOf(agent.process);
      const agentPid = agent.process.pid;
      const stopProfiles = profile && keep ? await profilePhase('sync', { agent: agent.process, hub: hub.process, sim }) : undefined;
      const agentStart = procSample(agentPid);
      const hubStart = procSample(hub.process.pid);
      const simStart = procSample(sim.pid);
      const machineStart = machineCpuSeconds();
      const benchStart = ownCpuSeconds();
      let startedAt: number | undefined;
      let adminUrlOnceStarted: string | undefined;
      void agent.startedLine.then(
        (line) => {
          startedAt = performance.now();
          adminUrlOnceStarted = `http://127.0.0.1:${Number(line.admin)}`;
        },
        () => undefined,
      );
      // The workload run's timeline: where the sync waits (bench/support/sync-timeline.ts).
      const timeline = keep
        ? new SyncTimeline({
            pids: { agent: agentPid, hub: hub.process.pid, sim: sim.pid },
            origin: agent.process.startedAt,
            intervalMs: TIMELINE_INTERVAL_MS,
            agentProbeMs: agentProbeSeconds * 1000,
            agentAdminUrl: () => adminUrlOnceStarted,
            simGcMs: async () => {
              const { gc } = await simAsk<{ gc: { majorMs: number; minorMs: number } }>({ cmd: 'gc-total' }, 'gc-total');
              return gc.majorMs + gc.minorMs;
            },
          })
        : undefined;
      timeline?.start();
      let committed = 0;
      let digestsCompared = 0;
      let lastReport = performance.now();
      let walPeakBytes = 0;
      const walPath = hub.databaseUrl.startsWith('sqlite:') ? `${hub.databaseUrl.slice('sqlite:'.length)}-wal` : undefined;
      const syncedAt = await poll(
        async () => {
          const hubText = await (await fetch(`${hub.restUrl}/metrics`)).text();
          const progress = hubProgressOf(hubText);
          committed = progress.changesCommitted;
          digestsCompared = digestCountersOf(hubText).compared;
          timeline?.noteHub(progress);
          if (walPath !== undefined && existsSync(walPath)) walPeakBytes = Math.max(walPeakBytes, statSync(walPath).size);
          if (performance.now() - lastReport > 10_000) {
            lastReport = performance.now();
            say(`  ${label}: hub committed ${formatCount(committed)} of ${formatCount(wantCommitted)} changes`);
          }
          if (committed < wantCommitted) return false;
          const now = performance.now();
          return (await reader.countObjects()) === objects ? now : false;
        },
        {
          timeoutMs: remaining(),
          intervalMs: 250,
          what: `the hub to hold the ${formatCount(objects)} objects of ${accounts.length} accounts (${label})`,
          alive: () => {
            agent.process.assertRunning();
            hub.process.assertRunning();
          },
          describe: () => `hub committed ${committed} of ${wantCommitted} changes`,
        },
      );
      const agentEnd = procSample(agentPid);
      const hubEnd = procSample(hub.process.pid);
      const simEnd = procSample(sim.pid);
      const benchCpuSeconds = ownCpuSeconds() - benchStart;
      timeline?.stop();
      const otherCpuSeconds =
        machineCpuSeconds() -
        machineStart -
        benchCpuSeconds -
        (agentEnd.cpuSeconds - agentStart.cpuSeconds) -
        (hubEnd.cpuSeconds - hubStart.cpuSeconds) -
        (simEnd.cpuSeconds - simStart.cpuSeconds);
      const syncedEpoch = Date.now();
      // The agent starts its anti-entropy timer right after this line: the line's time is tick 0.
      const timerStartedAt = Number((await agent.startedLine).time);
      await stopProfiles?.();
      const adminUrl = `http://127.0.0.1:${Number((await agent.startedLine).admin)}`;
      let listedMs: number | undefined;
      if (accounts.length > 0) {
        const watches = (await (await fetch(`${adminUrl}/watches`)).json()) as Array<{ reflector: { state: string; stateSince: number } }>;
        // stateSince of a feed that is watching is when its list ended (epoch ms).
        const lastListed = Math.max(...watches.map((w) => (w.reflector.state === 'watching' ? w.reflector.stateSince : Infinity)));
        if (Number.isFinite(lastListed)) listedMs = lastListed - (Date.now() - (performance.now() - agent.process.startedAt));
      }
      say(`  ${label}: synced ${formatCount(objects)} objects in ${formatSeconds(syncedAt - agent.process.startedAt)}; settling`);
      const simGc = (await simAsk<{ gc: { major: number; majorMs: number; minor: number; minorMs: number } }>({ cmd: 'stats' }, 'stats')).gc;
      say(
        `  ${label}: sim garbage collection since its last report: ${simGc.major} major (${formatSeconds(simGc.majorMs)}), ${simGc.minor} minor (${formatSeconds(simGc.minorMs)})`,
      );
      await sleep(flags.settleSeconds * 1000);
      const rss = await sampleRss(agentPid);
      const hubRss = await sampleRss(hub.process.pid);
      const hubMetrics = await (await fetch(`${hub.restUrl}/metrics`)).text();
      const sqliteFile = hub.databaseUrl.startsWith('sqlite:') ? hub.databaseUrl.slice('sqlite:'.length) : undefined;
      const fileSize = (path: string) => (existsSync(path) ? statSync(path).size : 0);
      const simRss = procSample(sim.pid).rssBytes;
      await collectGarbage(await inspectorOf(agent.process));
      await sleep(GC_PAUSE_MS);
      const rssAfterGc = await sampleRss(agentPid);
      const metrics = await agentMetrics(adminUrl);
      const result: SyncResult = {
        accounts: accounts.length,
        objects,
        feeds,
        syncMs: syncedAt - agent.process.startedAt,
        startedMs: (startedAt ?? syncedAt) - agent.process.startedAt,
        ...(listedMs !== undefined ? { listedMs } : {}),
        rss,
        rssAfterGc,
        heapUsedAfterGc: metrics.heapUsed,
        heapTotalAfterGc: metrics.heapTotal,
        externalAfterGc: metrics.external,
        peakRss: procSample(agentPid).peakRssBytes,
        hubRss,
        hubPeakRss: procSample(hub.process.pid).peakRssBytes,
        hubHeapUsed: metricSum(hubMetrics, 'nodejs_heap_size_used_bytes'),
        hubHeapTotal: metricSum(hubMetrics, 'nodejs_heap_size_total_bytes'),
        hubExternal: metricSum(hubMetrics, 'nodejs_external_memory_bytes'),
        ...(sqliteFile !== undefined ? { databaseBytes: fileSize(sqliteFile), walBytes: fileSize(`${sqliteFile}-wal`), walPeakBytes } : {}),
        simRss,
        agentCpuSeconds: agentEnd.cpuSeconds - agentStart.cpuSeconds,
        hubCpuSeconds: hubEnd.cpuSeconds - hubStart.cpuSeconds,
        simCpuSeconds: simEnd.cpuSeconds - simStart.cpuSeconds,
        benchCpuSeconds,
        otherCpuSeconds,
        cpuWindowSeconds: (agentEnd.at - agentStart.at) / 1000,
        changesCommitted: committed,
        digestsCompared,
        digestsComparedBySettle: digestCountersOf(hubMetrics).compared,
        digestIntervalSeconds,
        digestTicksDuringSync: digestIntervalSeconds > 0 ? Math.max(0, Math.floor((syncedEpoch - timerStartedAt) / (digestIntervalSeconds * 1000))) : 0,
        loadAverage: loadavg(),
      };
      say(
        `  ${label}: agent RSS ${formatBytes(rss)} (${formatBytes(rssAfterGc)} after GC, peak ${formatBytes(result.peakRss)}), hub RSS ${formatBytes(hubRss)} (peak ${formatBytes(result.hubPeakRss)}); ` +
          `CPU s agent ${result.agentCpuSeconds.toFixed(1)}, hub ${result.hubCpuSeconds.toFixed(1)}, sim ${result.simCpuSeconds.toFixed(1)}`,
      );
      if (keep) return { result, hub, agent: { process: agent.process, adminUrl, timerStartedAt }, reader, metrics, timeline };
      await agent.process.stop();
      await hub.process.stop();
      await reader.close();
      return { result, metrics };
    };

    const baselines: Record<string, SyncResult> = {};
    if (flags.baselines) {
      say('baseline: the agent with no accounts');
      baselines.noAccounts = (await syncRun('no-accounts', [], 0, false, false)).result;
      say(`baseline: the agent with ${idleNames.length} idle accounts`);
      baselines.idleAccounts = (await syncRun('idle-accounts', idleNames, idleExpected, false, false)).result;
    }

    say(`initial sync: ${flags.clusters} accounts, ${formatCount(expected)} objects`);
    // The workload agent's anti-entropy interval: short enough for --digest-rounds rounds to be measured
    // after the churn (the churn windows are placed between its rounds), or off when they are skipped.
    const workload = await syncRun('workload', loadNames, expected, true, flags.profile, flags.digestRounds > 0 ? flags.digestIntervalSeconds : 0);
    const sync = workload.result;
    if (!workload.hub || !workload.agent || !workload.reader || !workload.timeline) throw new Error('the workload run did not keep its hub and agent');
    const { hub, agent, reader } = workload;
    const sentMetrics = workload.metrics;
    // CPU per object against the floor, the machine's utilisation, and the timeline in slices.
    const cores = cpus().length;
    const syncCpu: SyncCpuFigures = syncCpuFigures({
      cpuSeconds: { agent: sync.agentCpuSeconds, hub: sync.hubCpuSeconds, sim: sync.simCpuSeconds, bench: sync.benchCpuSeconds },
      otherCpuSeconds: sync.otherCpuSeconds,
      windowSeconds: sync.cpuWindowSeconds,
      objects: expected,
      cores,
      floorObjectsPerSecond: floor.objectsPerSecond,
    });
    const sliceSeconds = sliceSecondsFor(sync.syncMs / 1000);
    const syncTimeline = {
      intervalMs: TIMELINE_INTERVAL_MS,
      agentProbeMs: agentProbeSeconds * 1000,
      sliceSeconds,
      slices: timelineSlices(workload.timeline.samples, workload.timeline.agentProbes, sliceSeconds, cores),
      samples: workload.timeline.samples,
      agentProbes: workload.timeline.agentProbes,
    };
    say(
      `  workload: CPU utilisation during the sync ${(syncCpu.utilisation * 100).toFixed(1)}% of ${cores} cores; per object agent ${formatMicros(syncCpu.parts.agent.microsPerObject)} = ${formatRatio(syncCpu.parts.agent.floorMultiple)} floor, ` +
        `hub ${formatMicros(syncCpu.parts.hub.microsPerObject)} = ${formatRatio(syncCpu.parts.hub.floorMultiple)}, sim ${formatMicros(syncCpu.parts.sim.microsPerObject)} = ${formatRatio(syncCpu.parts.sim.floorMultiple)} (floor ${formatMicros(syncCpu.floorMicrosPerObject)})`,
    );
    say(
      `  workload: the hub had compared ${formatCount(sync.digestsCompared)} feed digests when synced, ${formatCount(sync.digestsComparedBySettle)} by the memory samples (${formatCount(sync.feeds)} feeds; anti-entropy interval ${sync.digestIntervalSeconds} s, ${sync.digestTicksDuringSync} of its ticks before the sync ended)`,
    );
    const ticks = sync.digestIntervalSeconds > 0 ? new DigestTicks(sync.digestIntervalSeconds * 1000, agent.timerStartedAt, () => hubCounters(hub)) : undefined;

    // --- churn ---------------------------------------------------------------------------------------------
    // The sim's clock against ours: the pair with the shortest round trip bounds the offset best.
    let offset = 0;
    let bestRtt = Infinity;
    for (let i = 0; i < 20; i++) {
      const before = clock();
      const reply = await simAsk<{ now: number }>({ cmd: 'clock' }, 'clock');
      const after = clock();
      if (after - before < bestRtt) {
        bestRtt = after - before;
        offset = reply.now - (before + after) / 2;
      }
    }
    say(`sim clock offset ${offset.toFixed(3)} ms (±${(bestRtt / 2).toFixed(3)} ms)`);

    const churnKinds = simReady.churnKinds;
    const churnResults: ChurnResult[] = [];
    for (const rate of flags.churn) {
      say(`churn at ${formatCount(rate)} changes/s: ${flags.churnWarmupSeconds} s warm-up, ${flags.churnSeconds} s measured`);
      const result = await churnPhase(rate);
      churnResults.push(result);
      say(
        `  ${formatCount(rate)}/s: visible in the hub's database p50 ${formatMs(result.db.p50)}, p90 ${formatMs(result.db.p90)}, p99 ${formatMs(result.db.p99)}, max ${formatMs(result.db.max)} (${formatCount(result.db.count)} changes, ${result.unseen} unseen; to the hub p50/p99 ${formatMs(result.toHub.p50)}/${formatMs(result.toHub.p99)}, in the hub ${formatMs(result.inHub.p50)}/${formatMs(result.inHub.p99)}); ` +
          `REST p50 ${formatMs(result.rest.p50)}, p99 ${formatMs(result.rest.p99)} (${result.rest.count}); CPU agent ${formatPercent(result.agentCpu)}, hub ${formatPercent(result.hubCpu)}, sim ${formatPercent(result.simCpu)}`,
      );
    }

    async function churnPhase(rate: number): Promise<ChurnResult> {
      // The warm-up and the window are kept clear of anti-entropy rounds (measured on their own below): the
      // next tick is waited for and its round watched to its end, so a whole interval less that round lies
      // ahead. (The scrapes before and after the window take seconds at high rates: CHURN_SCRAPE_SLACK_MS.)
      const cleared = ticks
        ? await ticks.clear((flags.churnWarmupSeconds + flags.churnSeconds) * 1000 + CHURN_SCRAPE_SLACK_MS)
        : { waitedMs: 0, overlaps: false };
      if (ticks) say(`  waited ${formatSeconds(cleared.waitedMs)} for an anti-entropy round to pass`);
      if (cleared.overlaps)
        say(
          `  the anti-entropy interval (${sync.digestIntervalSeconds} s) leaves no room for the warm-up and the window between its rounds: a round may fall into the window`,
        );
      interface Tracked {
        rv: number;
        writtenAt: number;
        seq: number;
        measured: boolean;
      }
      interface PendingObject {
        id: string;
        key: ObjectKey;
        changes: Tracked[];
        /** When the reader looks at this object next (clock()); an entry re-scheduled leaves stale copies in the schedule. */
        nextCheckAt: number;
        /** When a lookup last found it without its newest change. */
        lastMissAt: number;
      }
      const pending = new Map<string, PendingObject>();
      const schedule = new MinHeap<{ at: number; entry: PendingObject }>((a, b) => a.at - b.at);
      const scheduleCheck = (entry: PendingObject, at: number) => {
        entry.nextCheckAt = at;
        schedule.push({ at, entry });
      };
      const dbLatencies: number[] = [];
      const uncertainty: number[] = [];
      const toHub: number[] = [];
      const inHub: number[] = [];
      const restLatencies: number[] = [];
      let measuring = false;
      let accepting = true;
      let measuredChanges = 0;
      let restTokens = 0;
      let lastRestRefill = performance.now();
      const restChecks: Array<Promise<void>> = [];

      // Polls the manifest until it shows the change, at first every REST_POLL_MS, later every tenth of
      // the time waited so far (so a slow change does not turn into hundreds of requests to the hub).
      const restCheck = async (key: ObjectKey, rv: number, writtenAt: number) => {
        const url = `${hub.restUrl}/manifests/${encodeURIComponent(key.account)}/${encodeURIComponent(key.namespace)}/${encodeURIComponent(`${spinnakerKindName(key.group, key.kind)} ${key.name}`)}?includeEvents=false`;
        const giveUp = clock() + VISIBILITY_GRACE_MS;
        while (clock() < giveUp) {
          const response = await fetch(url);
          if (response.ok) {
            const body = (await response.json()) as { manifest?: { metadata?: { resourceVersion?: string } } };
            if (Number(body.manifest?.metadata?.resourceVersion ?? 0) >= rv) {
              restLatencies.push(clock() - writtenAt);
              return;
            }
          } else {
            await response.arrayBuffer();
          }
          await sleep(Math.min(MAX_POLL_MS, Math.max(REST_POLL_MS, (clock() - writtenAt) * POLL_FRACTION)));
        }
      };

      const off = sim.onLine((line) => {
        if (!accepting || !line.startsWith('{"type":"changes"')) return;
        const changes = (JSON.parse(line) as { c: Array<[number, number, string, string, number, number, number]> }).c;
        const now = performance.now();
        restTokens = Math.min(flags.restSamples, restTokens + ((now - lastRestRefill) / 1000) * flags.restSamples);
        lastRestRefill = now;
        for (const [clusterIndex, kindIndex, namespace, objectName, rv, writtenAtSim, seq] of changes) {
          const k = churnKinds[kindIndex]!;
          const key: ObjectKey = { account: loadNames[clusterIndex]!, group: k.group, kind: k.kind, namespace, name: objectName };
          const id = `${key.account}\u0000${key.group}\u0000${key.kind}\u0000${namespace}\u0000${objectName}`;
          const writtenAt = writtenAtSim - offset;
          let entry = pending.get(id);
          if (!entry) pending.set(id, (entry = { id, key, changes: [], nextCheckAt: Infinity, lastMissAt: 0 }));
          entry.changes.push({ rv, writtenAt, seq, measured: measuring });
          // A new change is looked for at once (unless the object is being looked up right now).
          if (entry.nextCheckAt !== 0 && entry.nextCheckAt !== Infinity) scheduleCheck(entry, 0);
          else if (entry.changes.length === 1) scheduleCheck(entry, 0);
          if (measuring) {
            measuredChanges++;
            if (restTokens >= 1) {
              restTokens--;
              restChecks.push(restCheck(key, rv, writtenAt));
            }
          }
        }
      });

      // The visibility reader: looks up, by primary key in the hub's database, every object with a change
      // not yet seen — each about every millisecond at first, then every tenth of the time its oldest
      // change has waited (at most every MAX_POLL_MS), so the resolution stays within ~10% of the
      // latency measured while the reader's own load stays bounded at high rates.
      let reading = true;
      let polls = 0;
      let pollTime = 0;
      let lookups = 0;
      const readerLoop = (async () => {
        let last = performance.now();
        let tokens = 0;
        let lastRefill = clock();
        while (reading) {
          const now = clock();
          // The reader's own load is bounded: at most READER_LOOKUPS_PER_SECOND; objects left over wait
          // for the next tick (their uncertainty, below, grows instead of the load on the machine).
          tokens = Math.min(READER_LOOKUPS_PER_SECOND / 50, tokens + ((now - lastRefill) / 1000) * READER_LOOKUPS_PER_SECOND);
          lastRefill = now;
          const due: PendingObject[] = [];
          while (schedule.size > 0 && schedule.peek()!.at <= now && due.length < tokens) {
            const { at, entry } = schedule.pop()!;
            if (entry.nextCheckAt === at && entry.changes.length > 0) {
              entry.nextCheckAt = Infinity;
              due.push(entry);
            }
          }
          tokens -= due.length;
          if (due.length > 0) {
            const versions = await reader.resourceVersions(due.map((e) => e.key));
            lookups += due.length;
            const seenAt = clock();
            for (let i = 0; i < due.length; i++) {
              const version = versions[i];
              const held = Number(version?.resourceVersion ?? -1);
              const entry = due[i]!;
              const left: Tracked[] = [];
              for (const change of entry.changes) {
                if (held >= change.rv) {
                  if (change.measured) {
                    dbLatencies.push(seenAt - change.writtenAt);
                    // The change became visible after the last lookup that missed it (or its write).
                    uncertainty.push(seenAt - Math.max(change.writtenAt, entry.lastMissAt));
                    // updated_at: when the hub took up the batch (ms): the split between getting there and committing.
                    if (Number(version!.resourceVersion) === change.rv) {
                      toHub.push(version!.updatedAt - change.writtenAt);
                      inHub.push(seenAt - version!.updatedAt);
                    }
                  }
                } else left.push(change);
              }
              entry.changes = left;
              if (left.length === 0) {
                pending.delete(entry.id);
                continue;
              }
              entry.lastMissAt = seenAt;
              scheduleCheck(entry, seenAt + Math.min(MAX_POLL_MS, Math.max(DB_POLL_MS, (seenAt - left[0]!.writtenAt) * POLL_FRACTION)));
            }
          }
          const after = performance.now();
          polls++;
          pollTime += after - last;
          last = after;
          await sleep(DB_POLL_MS);
        }
      })();

      await simAsk({ cmd: 'churn', rate }, 'churning');
      await sleep(flags.churnWarmupSeconds * 1000);
      const stopProfiles = await profilePhase(`churn-${rate}`, { agent: agent.process, hub: hub.process, sim });
      // Scrapes now reset the event-loop delay histograms, so the ones after the window cover just it. They
      // come before the measured window: a scrape stalls the agent's event loop for tens of milliseconds,
      // which is the benchmark's doing, not the workload's (at most one scrape per window either way).
      const agentMetricsBefore = await (await fetch(`${agent.adminUrl}/metrics`)).text();
      const hubMetricsBefore = await (await fetch(`${hub.restUrl}/metrics`)).text();
      await simAsk({ cmd: 'stats' }, 'stats');
      measuring = true;
      const pids = { agent: agent.process.pid, hub: hub.process.pid, sim: sim.pid };
      const monitor = new ProcMonitor(() => pids, 500);
      monitor.start();
      const startSamples: Record<string, ProcSample> = { agent: procSample(pids.agent), hub: procSample(pids.hub), sim: procSample(pids.sim) };
      const machineCpuStart = machineCpuSeconds();
      const benchCpuStart = ownCpuSeconds();
      const windowStart = performance.now();
      const pollsAtStart = polls;
      const pollTimeAtStart = pollTime;
      const lookupsAtStart = lookups;
      await sleep(flags.churnSeconds * 1000);
      measuring = false;
      const windowEnd = performance.now();
      const endSamples: Record<string, ProcSample> = { agent: procSample(pids.agent), hub: procSample(pids.hub), sim: procSample(pids.sim) };
      const benchCpuSeconds = ownCpuSeconds() - benchCpuStart;
      const benchCpu = benchCpuSeconds / ((windowEnd - windowStart) / 1000);
      const otherCpu =
        (machineCpuSeconds() -
          machineCpuStart -
          benchCpuSeconds -
          Object.keys(pids).reduce((a, k) => a + endSamples[k]!.cpuSeconds - startSamples[k]!.cpuSeconds, 0)) /
        ((windowEnd - windowStart) / 1000);
      const agentMetricsAfter = await (await fetch(`${agent.adminUrl}/metrics`)).text();
      const hubMetricsAfter = await (await fetch(`${hub.restUrl}/metrics`)).text();
      const simStats = await simAsk<{ eventLoopDelayMs: { p50: number; p99: number; max: number }; watches: number }>({ cmd: 'stats' }, 'stats');
      const ackCount =
        metricSum(agentMetricsAfter, 'scale_agent_batch_ack_seconds_count') - metricSum(agentMetricsBefore, 'scale_agent_batch_ack_seconds_count');
      const ackSum = metricSum(agentMetricsAfter, 'scale_agent_batch_ack_seconds_sum') - metricSum(agentMetricsBefore, 'scale_agent_batch_ack_seconds_sum');
      const loops = {
        agent: loopDelayOf(agentMetricsAfter),
        hub: loopDelayOf(hubMetricsAfter),
        sim: simStats.eventLoopDelayMs,
      };
      const relists = metricSum(agentMetricsAfter, 'scale_agent_watch_relists_total');
      const watchRestarts = metricSum(agentMetricsAfter, 'scale_agent_watch_restarts_total');
      await stopProfiles?.();
      const meanPollIntervalMs = (pollTime - pollTimeAtStart) / Math.max(1, polls - pollsAtStart);
      const lookupsPerSecond = (lookups - lookupsAtStart) / ((windowEnd - windowStart) / 1000);
      const stopped = await simAsk<{ changes: number; lateTicks: number }>({ cmd: 'stop-churn' }, 'churn-stopped');
      accepting = false;
      off();
      monitor.stop();
      // Let what was measured arrive (bounded), then stop reading.
      const graceEnd = performance.now() + VISIBILITY_GRACE_MS;
      while (performance.now() < graceEnd && [...pending.values()].some((e) => e.changes.some((c) => c.measured))) await sleep(20);
      reading = false;
      await readerLoop;
      await Promise.all(restChecks);
      const unseen = [...pending.values()].reduce((n, e) => n + e.changes.filter((c) => c.measured).length, 0);
      // Let the system drain before the next rate.
      await sleep(2000);
      return {
        rate,
        achievedRate: measuredChanges / ((windowEnd - windowStart) / 1000),
        measuredChanges,
        unseen,
        db: summarize(dbLatencies),
        uncertainty: summarize(uncertainty),
        toHub: summarize(toHub),
        inHub: summarize(inHub),
        rest: summarize(restLatencies),
        meanPollIntervalMs,
        lookupsPerSecond,
        agentCpu: cpuShare(startSamples.agent!, endSamples.agent!),
        hubCpu: cpuShare(startSamples.hub!, endSamples.hub!),
        simCpu: cpuShare(startSamples.sim!, endSamples.sim!),
        benchCpu,
        agentRssMax: monitor.maxRss('agent', windowStart, windowEnd + 1),
        hubRssMax: monitor.maxRss('hub', windowStart, windowEnd + 1),
        loadAverage: loadavg(),
        lateTicks: stopped.lateTicks,
        batches: ackCount,
        meanAckMs: ackCount > 0 ? (ackSum / ackCount) * 1000 : NaN,
        eventLoopDelayMs: loops,
        simWatches: simStats.watches,
        relists,
        watchRestarts,
        otherCpu,
        digestsCompared: digestCountersOf(hubMetricsAfter).compared - digestCountersOf(hubMetricsBefore).compared,
        digestWaitMs: cleared.waitedMs,
        digestOverlap: cleared.overlaps,
      };
    }

    const afterChurn = {
      agentRss: procSample(agent.process.pid).rssBytes,
      agentPeakRss: procSample(agent.process.pid).peakRssBytes,
      hubRss: procSample(hub.process.pid).rssBytes,
      hubPeakRss: procSample(hub.process.pid).peakRssBytes,
    };
    await reader.close();

    // --- anti-entropy rounds ----------------------------------------------------------------------------
    // Every feed's digest, sent by the agent on its timer and compared by the hub with its rows: measured
    // with no churn, as pairs of equal windows — one holding a tick of the agent's timer, the next none —
    // in the same processes, on the same database, right after the figures above.
    let digestResult: DigestResult | undefined;
    if (!ticks && flags.digestRounds > 0) say('anti-entropy: not measured, the agent ran with clouddriver.digestIntervalSeconds 0');
    if (ticks && flags.digestRounds > 0) {
      const windowMs = ticks.pairWindowMs();
      say(
        `anti-entropy: ${flags.digestRounds} rounds at the agent's interval of ${sync.digestIntervalSeconds} s, each in a ${formatSeconds(windowMs)} window against the equal window after it (no churn)`,
      );
      const agentBefore = await (await fetch(`${agent.adminUrl}/metrics`)).text();
      const divergedBefore = (await hubCounters(hub)).diverged;
      // The first tick after the churn is watched through the hub's counter: it anchors the schedule (and warms up).
      const warmUp = await ticks.observeTick();
      if (warmUp) say(`  warm-up round: the hub compared ${formatCount(warmUp.compared)} digests, the last ${formatSeconds(warmUp.roundMs)} after the tick`);
      else say('  the hub compared nothing after the predicted tick; measuring on the predicted schedule anyway');
      const pids = { agent: agent.process.pid, hub: hub.process.pid, sim: sim.pid };
      const boundary = async (): Promise<DigestBoundary> => {
        const at = Date.now();
        const cpu = { agent: procSample(pids.agent), hub: procSample(pids.hub), sim: procSample(pids.sim) };
        const machineCpu = machineCpuSeconds();
        const benchCpu = ownCpuSeconds();
        const agentIo = procIo(pids.agent);
        // The scrape comes after the samples, so each window (with a tick or without) holds one.
        const { compared, diverged } = await hubCounters(hub);
        return { at, cpu, machineCpu, benchCpu, agentIo, compared, diverged };
      };
      const pairs = (await ticks.measurePairs(flags.digestRounds, windowMs, boundary)).map(pairFigures);
      const agentAfter = await (await fetch(`${agent.adminUrl}/metrics`)).text();
      const divergedAfter = (await hubCounters(hub)).diverged;
      // The last round as the agent saw it: each feed's last "equal" acknowledgement (epoch ms).
      const lastTick = pairs[pairs.length - 1]!.tickAt;
      const watches = (await (await fetch(`${agent.adminUrl}/watches`)).json()) as Array<{ digest?: { lastMatchAt?: string | null } }>;
      const matchedAt = watches.map((w) => (w.digest?.lastMatchAt ? Date.parse(w.digest.lastMatchAt) : NaN)).filter((t) => t >= lastTick - 1000);
      // Computed wire size: what a round puts in protobuf messages (no gRPC or HTTP/2 framing).
      const perFeedCount = Math.max(1, Math.round(expected / sync.feeds));
      const digestPart = (k: ApiResource) => ({
        feed: { group: k.group, version: k.version, kind: k.kind, resource: k.resource, namespace: '', namespaced: k.namespaced },
        entries: [{ type: 'digest' as const, count: perFeedCount, hashHigh: 0xfedcba98, hashLow: 0x89abcdef, resumeFrom: '' }],
        progress: undefined,
      });
      const perAccountBatch = encodeBatchRequest(10_000n, kinds.map(digestPart)).length;
      const perFeedMessages = kinds.map((k) => encodeBatchRequest(10_000n, [digestPart(k)]).length);
      digestResult = {
        intervalSeconds: sync.digestIntervalSeconds,
        windowMs,
        feeds: sync.feeds,
        objects: expected,
        ...(warmUp ? { warmUp } : {}),
        pairs,
        roundsCompleted: pairs.filter((p) => p.comparedWith > 0 && p.comparedWithout === 0).length,
        spilled: pairs.filter((p) => p.comparedWithout > 0).length,
        comparedPerRound: pairs.reduce((a, p) => a + p.comparedWith, 0) / pairs.length,
        cpu: Object.fromEntries(DIGEST_PARTS.map((part) => [part, partFigures(pairs, part)])) as Record<DigestPart, PartFigures>,
        agentWrittenPerRound: difference(
          pairs.map((p) => p.agentWrittenWith - p.agentWrittenWithout),
          0,
        ),
        agentReadPerRound: difference(
          pairs.map((p) => p.agentReadWith - p.agentReadWithout),
          0,
        ),
        computedBytesPerRound: {
          perAccountBatches: perAccountBatch * flags.clusters,
          perFeedMessages: perFeedMessages.reduce((a, b) => a + b, 0) * flags.clusters,
          perFeedMessageBytes: perFeedMessages.reduce((a, b) => a + b, 0) / perFeedMessages.length,
        },
        ...(matchedAt.length > 0 ? { lastRound: { matchedFeeds: matchedAt.length, durationMs: Math.max(...matchedAt) - lastTick } } : {}),
        divergences: {
          hub: divergedAfter - divergedBefore,
          agent: metricSum(agentAfter, 'scale_agent_cache_divergence_total') - metricSum(agentBefore, 'scale_agent_cache_divergence_total'),
        },
        relists: metricSum(agentAfter, 'scale_agent_watch_relists_total') - metricSum(agentBefore, 'scale_agent_watch_relists_total'),
        watchRestarts: metricSum(agentAfter, 'scale_agent_watch_restarts_total') - metricSum(agentBefore, 'scale_agent_watch_restarts_total'),
        otherShare: {
          with: pairs.reduce((a, p) => a + p.otherWith, 0) / pairs.reduce((a, p) => a + p.withMs / 1000, 0),
          without: pairs.reduce((a, p) => a + p.otherWithout, 0) / pairs.reduce((a, p) => a + p.withoutMs / 1000, 0),
        },
      };
      const d = digestResult;
      say(
        `  ${d.roundsCompleted} of ${pairs.length} rounds completed in their windows (${formatCount(d.comparedPerRound)} comparisons each); CPU s per round agent ${formatDiff(d.cpu.agent)}, hub ${formatDiff(d.cpu.hub)}, sim ${formatDiff(d.cpu.sim)}; ` +
          `agent wrote ${formatBytes(d.agentWrittenPerRound.mean)} per round; divergences hub ${d.divergences.hub}, agent ${d.divergences.agent}`,
      );
    }

    // --- figures ---------------------------------------------------------------------------------------------
    const objectsPerSecond = expected / (sync.syncMs / 1000);
    const idle = baselines.idleAccounts;
    const none = baselines.noAccounts;
    const perObject = idle ? (sync.rss - idle.rss) / (expected - idle.objects) : NaN;
    const perObjectAfterGc = idle ? (sync.rssAfterGc - idle.rssAfterGc) / (expected - idle.objects) : NaN;
    const perAccount = idle && none ? (idle.rss - none.rss) / idle.accounts : NaN;
    const perAccountAfterGc = idle && none ? (idle.rssAfterGc - none.rssAfterGc) / idle.accounts : NaN;
    const budget = expected * 1024 + flags.clusters * 1024 * 1024;
    const churnAt = (r: number) => churnResults.find((c) => c.rate === r);
    const floorRatio = objectsPerSecond / floor.objectsPerSecond;
    const hubPeak = Math.max(sync.hubPeakRss, afterChurn.hubPeakRss);
    const perObjectTarget = (part: 'agent' | 'hub', limit: number): TargetRow => {
      const f = syncCpu.parts[part];
      return {
        id: `${part}-cpu-per-object`,
        target: `${part} CPU per object during the sync ≤ ${limit}× the JSON.parse floor`,
        value: `${formatMicros(f.microsPerObject)} = ${formatRatio(f.floorMultiple)} floor (floor ${formatMicros(syncCpu.floorMicrosPerObject)})`,
        met: f.floorMultiple <= limit,
        measured: f.floorMultiple,
        limit,
        unit: '× floor per object',
      };
    };
    const visibilityTarget = (rate: number, stat: 'p50' | 'p99', limitMs: number, earlier: boolean): TargetRow => {
      const c = churnAt(rate);
      return {
        id: `${stat}-visibility-at-${rate}`,
        target: `${stat} visibility < ${limitMs} ms at ${formatCount(rate)} changes/s${earlier ? ' (earlier target)' : ''}`,
        value: c
          ? `${formatMs(c.db[stat])} (REST sample ${formatMs(c.rest[stat])})${c.unseen > 0 ? `, ${c.unseen} unseen` : ''}`
          : `not measured (--churn ${flags.churn.join(',') || '0'})`,
        met: c ? c.db[stat] < limitMs && (stat === 'p50' || c.unseen === 0) : null,
        measured: c ? c.db[stat] : null,
        limit: limitMs,
        unit: 'ms',
      };
    };
    const targets: TargetRow[] = [
      {
        id: 'sync-time',
        target: `initial sync of ${flags.clusters} clusters × ${formatCount(flags.objects)} objects < ${SYNC_TARGET_SECONDS} s`,
        value: formatSeconds(sync.syncMs),
        met: sync.syncMs < SYNC_TARGET_SECONDS * 1000,
        measured: sync.syncMs / 1000,
        limit: SYNC_TARGET_SECONDS,
        unit: 's',
      },
      {
        id: 'sync-floor-ratio',
        target: `initial sync ≥ ${SYNC_TARGET_FLOOR_RATIO}× the JSON.parse floor (objects/s)`,
        value: formatRatio(floorRatio),
        met: floorRatio >= SYNC_TARGET_FLOOR_RATIO,
        measured: floorRatio,
        limit: SYNC_TARGET_FLOOR_RATIO,
        unit: '× floor',
      },
      {
        id: 'sync-cpu-utilisation',
        target: `CPU utilisation during the sync ≥ ${SYNC_TARGET_UTILISATION * 100}% of the ${cores} cores (agent + hub + sim + benchmark)`,
        value: `${(syncCpu.utilisation * 100).toFixed(1)}% (agent ${(syncCpu.parts.agent.utilisation * 100).toFixed(1)}, hub ${(syncCpu.parts.hub.utilisation * 100).toFixed(1)}, sim ${(syncCpu.parts.sim.utilisation * 100).toFixed(1)}, benchmark ${(syncCpu.parts.bench.utilisation * 100).toFixed(1)})`,
        met: syncCpu.utilisation >= SYNC_TARGET_UTILISATION,
        measured: syncCpu.utilisation,
        limit: SYNC_TARGET_UTILISATION,
        unit: 'share of the cores',
      },
      perObjectTarget('agent', AGENT_TARGET_FLOOR_MULTIPLE),
      perObjectTarget('hub', HUB_TARGET_FLOOR_MULTIPLE),
      visibilityTarget(500, 'p99', 25, false),
      visibilityTarget(2000, 'p99', 100, false),
      ...(churnAt(100) ? [visibilityTarget(100, 'p50', 5, true), visibilityTarget(100, 'p99', 25, true)] : []),
      none && idle
        ? {
            id: 'agent-rss',
            target: 'agent RSS < 1 KiB per watched object + 1 MiB per account',
            value: `${formatBytes(perObject)} per object, ${formatBytes(perAccount)} per account (${formatBytes(sync.rss)} in all: ${formatBytes(none.rss)} with no accounts + ${formatBytes(sync.rss - none.rss)} against a budget of ${formatBytes(budget)}; after GC ${formatBytes(perObjectAfterGc)}, ${formatBytes(perAccountAfterGc)})`,
            met: perObject < 1024 && perAccount < 1024 * 1024,
            measured: perObject,
            limit: 1024,
            unit: 'bytes per object',
            figures: { perAccountBytes: perAccount, perAccountLimitBytes: 1024 * 1024 },
          }
        : {
            id: 'agent-rss',
            target: `agent RSS < 1 KiB per watched object + 1 MiB per account (${formatBytes(budget)} in all; no baselines)`,
            value: `${formatBytes(sync.rss)} (${formatBytes(sync.rssAfterGc)} after GC)`,
            met: sync.rss < budget,
            measured: sync.rss,
            limit: budget,
            unit: 'bytes',
          },
      {
        id: 'hub-rss',
        target: 'hub RSS < 1 GiB',
        value: `${formatBytes(sync.hubRss)} (peak ${formatBytes(hubPeak)})`,
        met: hubPeak < 1024 ** 3,
        measured: hubPeak,
        limit: 1024 ** 3,
        unit: 'bytes (peak)',
      },
    ];

    const result = {
      benchmark: 'scale',
      name,
      startedAt: startedAt.toISOString(),
      durationSeconds: Math.round((performance.now() - t0) / 100) / 10,
      environment: { ...environment(), loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg() },
      options: flags,
      workload: {
        clusters: flags.clusters,
        kinds: kindNames,
        objects: expected,
        idleObjects: idleExpected,
        simObjects: simReady.objects,
        simSeedMs: simReady.seedMs,
        simPlan: simReady.plan,
      },
      floor,
      sync: {
        ...sync,
        cpu: syncCpu,
        objectsPerSecond,
        ratioToFloor: objectsPerSecond / floor.objectsPerSecond,
        changesSent: sentMetrics.changesSent,
        bytesSent: sentMetrics.bytesSent,
      },
      baselines,
      memory: { perObject, perObjectAfterGc, perAccount, perAccountAfterGc, budget, afterChurn },
      churn: churnResults,
      digest: digestResult ?? null,
      clockOffsetMs: offset,
      clockRoundTripMs: bestRtt,
      syncTimeline,
      targets,
    };

    const tables = buildTables();
    function buildTables(): Table[] {
      const syncTable: Table = {
        title: `Initial sync: ${flags.clusters} clusters, ${formatCount(expected)} objects of ${kinds.length} kinds, ${flags.database}`,
        header: ['', 'value'],
        rows: [
          ["time to sync, from the agent's start", formatSeconds(sync.syncMs)],
          ['objects/s', formatCount(objectsPerSecond)],
          ['JSON.parse floor, objects/s', formatCount(floor.objectsPerSecond)],
          ['÷ JSON.parse floor', formatRatio(objectsPerSecond / floor.objectsPerSecond)],
          ['agent started (every account discovered)', formatSeconds(sync.startedMs)],
          ['every feed listed', sync.listedMs !== undefined ? formatSeconds(sync.listedMs) : 'n/a'],
          ['CPU seconds: agent / hub / sim', `${sync.agentCpuSeconds.toFixed(1)} / ${sync.hubCpuSeconds.toFixed(1)} / ${sync.simCpuSeconds.toFixed(1)}`],
          ['CPU seconds of other processes on the machine meanwhile', sync.otherCpuSeconds.toFixed(1)],
          ...(digestResult
            ? [
                [
                  'one anti-entropy round afterwards (every feed), CPU seconds: agent / hub / sim',
                  `${digestResult.cpu.agent.mean.toFixed(2)} / ${digestResult.cpu.hub.mean.toFixed(2)} / ${digestResult.cpu.sim.mean.toFixed(2)} (see "Anti-entropy")`,
                ],
              ]
            : []),
          [
            'feed digests the hub compared: when synced, by the memory samples',
            `${formatCount(sync.digestsCompared)}, ${formatCount(sync.digestsComparedBySettle)} (${formatCount(sync.feeds)} feeds; ${sync.digestIntervalSeconds > 0 ? `interval ${sync.digestIntervalSeconds} s, ${sync.digestTicksDuringSync} of its ticks before synced` : 'interval off'})`,
          ],
          ['changes sent, object bytes sent', `${formatCount(sentMetrics.changesSent)}, ${formatBytes(sentMetrics.bytesSent)}`],
          ['load average at the end', sync.loadAverage.map((l) => l.toFixed(2)).join(' ')],
        ],
        notes: [
          'Synced = the hub committed every object and both snapshot markers of every feed, and its database holds exactly the watched objects. objects/s = objects ÷ time to sync (start-up included).',
          `Digest comparisons (the hub's scale_agent_hub_feed_digests_compared_total) are in the sync's figures: those asked for when each account's stream opened (anti-entropy after a (re)connect; a feed sends its digest once its list is done)${sync.digestTicksDuringSync > 0 ? ` and those of the ${sync.digestTicksDuringSync} tick(s) of the ${sync.digestIntervalSeconds} s interval (--digest-interval-seconds) that fell before the sync ended, for the feeds listed by then${sync.syncMs < DEFAULT_DIGEST_INTERVAL_SECONDS * 1000 ? ` — at the default ${DEFAULT_DIGEST_INTERVAL_SECONDS} s a sync this short would see no tick` : ''}` : ''}.`,
          `Floor = UTF-8 decode + JSON.parse of the list pages of ${floor.clusters} clusters (${formatCount(floor.objects)} objects, ${formatBytes(floor.bytes)}, ${formatBytes(floor.meanObjectBytes)} per object) as the agent pages them, best of ${flags.parseRepetitions} in CPU seconds of the benchmark process (garbage collection threads included, as for the agent and the hub).`,
        ],
      };
      const memoryRows: string[][] = [
        ['agent RSS with the workload', formatBytes(sync.rss), formatBytes(sync.rssAfterGc)],
        [
          'agent JS heap used / reserved, external',
          '',
          `${formatBytes(sync.heapUsedAfterGc)} / ${formatBytes(sync.heapTotalAfterGc)}, ${formatBytes(sync.externalAfterGc)}`,
        ],
        ['agent peak RSS (initial sync)', formatBytes(sync.peakRss), ''],
        ...(none ? [['agent RSS, no accounts', formatBytes(none.rss), formatBytes(none.rssAfterGc)]] : []),
        ...(idle ? [[`agent RSS, ${idle.accounts} idle accounts`, formatBytes(idle.rss), formatBytes(idle.rssAfterGc)]] : []),
        ['agent RSS per watched object', formatBytes(perObject), formatBytes(perObjectAfterGc)],
        ['agent RSS per account', formatBytes(perAccount), formatBytes(perAccountAfterGc)],
        ['agent budget: 1 KiB per object + 1 MiB per account', formatBytes(budget), ''],
        ['hub RSS after the sync (peak)', `${formatBytes(sync.hubRss)} (${formatBytes(sync.hubPeakRss)})`, ''],
        ['hub JS heap used / reserved, external', `${formatBytes(sync.hubHeapUsed)} / ${formatBytes(sync.hubHeapTotal)}, ${formatBytes(sync.hubExternal)}`, ''],
        ...(sync.databaseBytes !== undefined
          ? [
              [
                'SQLite database file, write-ahead log (largest during the sync)',
                `${formatBytes(sync.databaseBytes)}, ${formatBytes(sync.walBytes ?? 0)} (${formatBytes(sync.walPeakBytes ?? 0)})`,
                '',
              ],
            ]
          : []),
        ['hub RSS after the churn (peak)', `${formatBytes(afterChurn.hubRss)} (${formatBytes(afterChurn.hubPeakRss)})`, ''],
        ['sim RSS', formatBytes(sync.simRss), ''],
      ];
      const memoryTable: Table = {
        title: 'Memory',
        header: ['', 'RSS', 'after a forced GC'],
        rows: memoryRows,
        notes: [
          `RSS: median of ${flags.samples} samples ${flags.settleSeconds} s after the sync; GC = HeapProfiler.collectGarbage through the inspector. Peak = VmHWM.`,
          idle
            ? `per watched object = (workload − ${idle.accounts} idle accounts) ÷ objects; per account = (${idle.accounts} idle accounts − no accounts) ÷ ${idle.accounts}. An idle account is a new cluster (no objects of the watched kinds).`
            : 'Baselines skipped (--no-baselines): no per-object or per-account split.',
          ...(flags.agentEnv.length > 0 ? [`agent environment: ${flags.agentEnv.join(' ')}`] : []),
          ...(flags.agentSet.length > 0 ? [`agent configuration: ${flags.agentSet.map(([k, v]) => `${k.join('.')}=${JSON.stringify(v)}`).join(' ')}`] : []),
        ],
      };
      const churnTable: Table = {
        title: 'Visibility latency at steady churn (written to the sim → visible at the hub)',
        header: [
          'changes/s',
          'achieved',
          'measured',
          'DB p50',
          'p90',
          'p99',
          'max',
          'REST p50',
          'REST p99',
          'REST max (n)',
          'CPU agent',
          'hub',
          'sim',
          'bench',
          'agent RSS',
          'hub RSS',
          'load',
          'digests',
        ],
        rows: churnResults.map((c) => [
          formatCount(c.rate),
          formatCount(c.achievedRate),
          `${formatCount(c.measuredChanges)}${c.unseen > 0 ? ` (${c.unseen} unseen)` : ''}`,
          formatMs(c.db.p50),
          formatMs(c.db.p90),
          formatMs(c.db.p99),
          formatMs(c.db.max),
          formatMs(c.rest.p50),
          formatMs(c.rest.p99),
          `${formatMs(c.rest.max)} (${c.rest.count})`,
          formatPercent(c.agentCpu),
          formatPercent(c.hubCpu),
          formatPercent(c.simCpu),
          formatPercent(c.benchCpu),
          formatBytes(c.agentRssMax),
          formatBytes(c.hubRssMax),
          c.loadAverage[0]!.toFixed(2),
          `${formatCount(c.digestsCompared)}${c.digestOverlap ? ' (overlap)' : ''}`,
        ]),
        notes: [
          'A change = a merge patch of one annotation on a random ConfigMap, Secret, Service or ServiceMonitor of a random cluster, made in the sim process; its time is taken when the write returns.',
          `DB = the benchmark reads the hub's database by primary key (a read-only connection beside the hub) until the object shows the change's resourceVersion (or a later one): the commit plus the reader's uncertainty, given below (mean reader tick ${churnResults.map((c) => c.meanPollIntervalMs.toFixed(1)).join(' / ')} ms; ${churnResults.map((c) => formatCount(c.lookupsPerSecond)).join(' / ')} lookups/s).`,
          `REST = for up to ${flags.restSamples} changes/s, GET /manifests/{account}/{namespace}/{kind name}?includeEvents=false from the write until the manifest shows it (every ${REST_POLL_MS} ms at first, then every ${POLL_FRACTION * 100}% of the time waited): what Spinnaker would read. Clocks: the sim's offset measured by round trips (±${(bestRtt / 2).toFixed(2)} ms).`,
          `Each rate: ${flags.churnWarmupSeconds} s warm-up, then ${flags.churnSeconds} s measured; CPU = CPU seconds ÷ wall seconds of the window (1 core = 100%), of 2 shared cores; bench = the benchmark process itself (the reader). Other processes on the machine used ${churnResults.map((c) => formatPercent(c.otherCpu)).join(' / ')} of a core in the windows (/proc/stat less the four).`,
          sync.digestIntervalSeconds > 0
            ? `digests = feed digests the hub compared in the window (its scale_agent_hub_feed_digests_compared_total): the warm-up and window are placed between the agent's anti-entropy rounds (every ${sync.digestIntervalSeconds} s in this run; the benchmark waited ${churnResults.map((c) => formatSeconds(c.digestWaitMs)).join(' / ')} for them), so 0 means none of their cost is in these figures.`
            : 'digests = feed digests the hub compared in the window; the agent ran with clouddriver.digestIntervalSeconds 0 (--digest-rounds 0), so only reconnects send them.',
        ],
      };
      const splitTable: Table = {
        title: 'Where the visibility latency goes (DB figures)',
        header: ['changes/s', 'sim → hub takes the batch: p50', 'p99', 'hub: takes it → visible: p50', 'p99', 'reader uncertainty: p50', 'p99'],
        rows: churnResults.map((c) => [
          formatCount(c.rate),
          formatMs(c.toHub.p50),
          formatMs(c.toHub.p99),
          formatMs(c.inHub.p50),
          formatMs(c.inHub.p99),
          formatMs(c.uncertainty.p50),
          formatMs(c.uncertainty.p99),
        ]),
        notes: [
          `Reader uncertainty = how much earlier a change may have become visible than measured: the time since the reader's last lookup that missed it (the reader looks each object up every ${DB_POLL_MS} ms at first, then every ${POLL_FRACTION * 100}% of the time waited, at most ${MAX_POLL_MS} ms, within a budget of ${formatCount(READER_LOOKUPS_PER_SECOND)} lookups/s).`,
          "The split uses the row's updated_at, which the hub stamps (Date.now(), whole milliseconds) when it takes up the batch that carries the change — after the agent streamed it, before the batch waits for and runs its commit. The first part is the sim's watch, the agent and the gRPC stream; the second the hub's queue, its commit and the reader's poll.",
        ],
      };
      const diagnosticsTable: Table = {
        title: 'During each churn window',
        header: ['changes/s', 'batches sent', 'mean ack', 'event-loop delay p99 / max: agent', 'hub', 'sim', 'open watches', 'relists, watch restarts (total)'],
        rows: churnResults.map((c) => [
          formatCount(c.rate),
          formatCount(c.batches),
          formatMs(c.meanAckMs),
          `${formatMs(c.eventLoopDelayMs.agent.p99)} / ${formatMs(c.eventLoopDelayMs.agent.max)}`,
          `${formatMs(c.eventLoopDelayMs.hub.p99)} / ${formatMs(c.eventLoopDelayMs.hub.max)}`,
          `${formatMs(c.eventLoopDelayMs.sim.p99)} / ${formatMs(c.eventLoopDelayMs.sim.max)}`,
          formatCount(c.simWatches),
          `${formatCount(c.relists)}, ${formatCount(c.watchRestarts)}`,
        ]),
        notes: [
          "mean ack = from the agent writing a batch to the hub acknowledging its commit (the agent's scale_agent_batch_ack_seconds). Event-loop delay: monitorEventLoopDelay over the window (agent and hub through their /metrics).",
        ],
      };
      const digestTable: Table | undefined = digestResult && buildDigestTable(digestResult);
      const targetTable: Table = {
        title: 'Targets',
        header: ['target', 'measured', 'met'],
        rows: targets.map((t) => [t.target, t.value, t.met === null ? 'n/a' : t.met ? 'yes' : 'no']),
      };
      return [
        syncTable,
        syncCpuTable(syncCpu),
        ...timelineTables(syncTimeline.slices, cores, {
          probes: syncTimeline.agentProbes,
          intervalMs: syncTimeline.intervalMs,
          agentProbeMs: syncTimeline.agentProbeMs,
        }),
        memoryTable,
        churnTable,
        ...(churnResults.length > 0 ? [splitTable, diagnosticsTable] : []),
        ...(digestTable ? [digestTable] : []),
        targetTable,
      ];
    }
    function buildDigestTable(d: DigestResult): Table {
      const perMillion = (seconds: number) => seconds / (d.objects / 1e6);
      const share = (seconds: number, intervalSeconds: number) => `${((seconds / intervalSeconds) * 100).toFixed(2)}%`;
      const unresolved = DIGEST_PARTS.filter((p) => d.cpu[p].resolved === false);
      const churn100 = churnAt(100);
      return {
        title: `Anti-entropy: a digest round of every feed (${formatCount(d.feeds)} feeds, ${formatCount(d.objects)} objects), after the churn, none running`,
        header: ['', 'value'],
        rows: [
          ["interval in this run (the agent's clouddriver.digestIntervalSeconds)", `${d.intervalSeconds} s`],
          [
            "rounds completed in their windows (hub's digests-compared counter)",
            `${d.roundsCompleted} of ${d.pairs.length} (${formatCount(d.comparedPerRound)} comparisons per round${d.spilled > 0 ? `; ${d.spilled} spilled into the window after` : ''})`,
          ],
          ...(d.lastRound
            ? [['last round: tick → last feed acknowledged equal', `${formatSeconds(d.lastRound.durationMs)} (${formatCount(d.lastRound.matchedFeeds)} feeds)`]]
            : []),
          ['CPU s per round: agent', formatDiff(d.cpu.agent)],
          ['CPU s per round: hub', formatDiff(d.cpu.hub)],
          ['CPU s per round: sim (not involved: a control)', formatDiff(d.cpu.sim)],
          ['CPU s per round per 1M objects: agent / hub', `${perMillion(d.cpu.agent.mean).toFixed(3)} / ${perMillion(d.cpu.hub.mean).toFixed(3)}`],
          ['CPU per feed per round: agent / hub', `${((d.cpu.agent.mean / d.feeds) * 1e6).toFixed(0)} / ${((d.cpu.hub.mean / d.feeds) * 1e6).toFixed(0)} µs`],
          [
            `CPU with a round ÷ without, equal ${formatSeconds(d.windowMs)} windows: agent / hub`,
            `${formatRatio(d.cpu.agent.ratio)} / ${formatRatio(d.cpu.hub.ratio)} (${d.cpu.agent.withSeconds.toFixed(2)} ÷ ${d.cpu.agent.withoutSeconds.toFixed(2)} s, ${d.cpu.hub.withSeconds.toFixed(2)} ÷ ${d.cpu.hub.withoutSeconds.toFixed(2)} s)`,
          ],
          ['CPU without a round (no churn): agent / hub / sim', DIGEST_PARTS.map((p) => `${(d.cpu[p].baseShare * 100).toFixed(1)}%`).join(' / ')],
          [
            `share of one core, computed: at ${d.intervalSeconds} s / at the default ${DEFAULT_DIGEST_INTERVAL_SECONDS} s: agent`,
            `${share(d.cpu.agent.mean, d.intervalSeconds)} / ${share(d.cpu.agent.mean, DEFAULT_DIGEST_INTERVAL_SECONDS)}`,
          ],
          [
            `share of one core, computed: at ${d.intervalSeconds} s / at the default ${DEFAULT_DIGEST_INTERVAL_SECONDS} s: hub`,
            `${share(d.cpu.hub.mean, d.intervalSeconds)} / ${share(d.cpu.hub.mean, DEFAULT_DIGEST_INTERVAL_SECONDS)}`,
          ],
          ...(churn100
            ? [
                [
                  `agent + hub CPU at 100 changes/s with rounds every ${DEFAULT_DIGEST_INTERVAL_SECONDS} s ÷ without (computed)`,
                  formatRatio(
                    (churn100.agentCpu + churn100.hubCpu + (d.cpu.agent.mean + d.cpu.hub.mean) / DEFAULT_DIGEST_INTERVAL_SECONDS) /
                      (churn100.agentCpu + churn100.hubCpu),
                  ),
                ],
              ]
            : []),
          [
            'bytes the agent wrote / read per round (measured, with − without)',
            `${formatBytes(d.agentWrittenPerRound.mean)} / ${formatBytes(d.agentReadPerRound.mean)} (${formatBytes(d.agentWrittenPerRound.mean / d.feeds)} / ${formatBytes(d.agentReadPerRound.mean / d.feeds)} per feed)`,
          ],
          [
            'digest bytes per round (computed, protobuf)',
            `${formatBytes(d.computedBytesPerRound.perAccountBatches)} as one batch per account; ${formatBytes(d.computedBytesPerRound.perFeedMessages)} as one message per feed (${d.computedBytesPerRound.perFeedMessageBytes.toFixed(0)} B each, the digest benchmark's count)`,
          ],
          ['divergences found: hub / agent', `${d.divergences.hub} / ${d.divergences.agent}`],
          ["the agent's relists, watch restarts during the phase", `${formatCount(d.relists)}, ${formatCount(d.watchRestarts)}`],
          [
            'other processes on the machine, windows with / without a round (share of one core)',
            `${formatPercent(d.otherShare.with)} / ${formatPercent(d.otherShare.without)}`,
          ],
        ],
        notes: [
          `Each round: a window of ${formatSeconds(d.windowMs)} starting ${LEAD_MS / 1000} s before a tick of the agent's timer (predicted from its "agent started" line, re-anchored on the warm-up round the hub was seen comparing), then an equal window with no tick. Per round = CPU(with) − CPU(without), mean over the rounds (range in parentheses); CPU from /proc/<pid>/stat, 10 ms ticks.`,
          `A figure is "within noise" when its mean is not above twice its standard error (or 0.02 s); then only its order of magnitude holds.${unresolved.length > 0 ? ` Here: ${unresolved.join(', ')}.` : ''} Relists, watch restarts and other processes on the machine (both from /proc and the agent's metrics, above) are the usual sources of that noise.`,
          "Measured bytes = what the agent passed to write() / read() (/proc/<pid>/io: its gRPC stream to the hub, with HTTP/2 and gRPC framing, and anything else it wrote), with − without. Computed bytes = the digests' protobuf messages alone.",
          `Shares of one core = per round ÷ interval: the steady cost of comparing every feed at that interval; the ratio at 100 changes/s adds that to the agent's and the hub's CPU in that churn window above.`,
          'The round of the warm-up and those of the measured windows carry no changes: every digest goes out in a batch of its own account (one per account). Under churn a digest rides with the batch that empties its feed.',
        ],
      };
    }

    const heading = [
      `Scale benchmark "${name}", ${startedAt.toISOString()}: ${flags.clusters} clusters × ~${formatCount(flags.objects)} objects (${formatCount(expected)} watched objects of ${kinds.length} kinds), ${flags.database}; ` +
        `node ${process.version}, ${result.environment.cpus} CPUs (${result.environment.cpuModel ?? 'unknown'}), ${formatBytes(result.environment.totalMemoryBytes)}; ` +
        `load average ${loadAtStart.map((l) => l.toFixed(2)).join(' ')} at the start, ${result.environment.loadAverageAtEnd.map((l) => l.toFixed(2)).join(' ')} at the end; git ${result.environment.gitCommit?.slice(0, 7) ?? '?'}${result.environment.gitDirty ? ' (dirty)' : ''}`,
    ];
    process.stdout.write('\n' + heading.join('\n') + '\n\n' + tables.map(renderText).join('\n\n') + '\n\n');
    const command = `npm run bench -- scale ${process.argv.slice(3).join(' ')}`.trim();
    const svgName = `scale-${name}.svg`;
    const markdown = [
      `# Scale benchmark`,
      '',
      heading.join('\n'),
      '',
      `Command: \`${command}\``,
      '',
      ...tables.flatMap((t) => [renderMarkdown(t), '']),
      ...(churnResults.length > 0 ? [`![latency percentiles against churn rate](${svgName})`, ''] : []),
    ].join('\n');
    const paths = writeResults(outDir, `scale-${name}`, result, markdown);
    if (churnResults.length > 0) {
      const colors = ['#1f77b4', '#2ca02c', '#ff7f0e', '#d62728'];
      const svg = renderLogLogPlot({
        title: `Change visibility at the hub: ${flags.clusters} clusters, ${formatCount(expected)} objects, ${flags.database}`,
        xLabel: 'churn, changes/s',
        yLabel: 'written to the sim → visible in the hub, ms',
        series: [
          ...(['p50', 'p90', 'p99', 'max'] as const).map((p, i) => ({
            label: `DB ${p}`,
            color: colors[i]!,
            points: churnResults.map((c) => ({ x: c.rate, y: c.db[p] })),
          })),
          { label: 'REST p99 (sample)', color: '#9467bd', dashed: true, points: churnResults.map((c) => ({ x: c.rate, y: c.rest.p99 })) },
        ],
        markers: [
          { y: 100, label: 'p99 target at 2,000/s', color: '#d62728' },
          { y: 25, label: 'p99 target at 500/s', color: '#ff7f0e' },
          { y: 5, label: 'p50 target at 100/s (earlier)', color: '#1f77b4' },
        ],
      });
      writeFileSync(join(outDir, svgName), svg);
    }
    say(`wrote ${paths.json}, ${paths.markdown}${churnResults.length > 0 ? ` and ${svgName}` : ''}`);
    if (flags.profile) say(`profiles in ${profileDir}: ${readdirSync(profileDir).join(', ')}`);
  } finally {
    clearTimeout(guard);
    for (const session of profileSessions) session.close();
    await registry.stopAll();
    registry.dispose();
    for (const url of databases) await server?.drop(url).catch(() => {});
    await server?.close().catch(() => {});
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (flags.keepTemp) log(t0, `kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
