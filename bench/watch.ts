/**
 * `npm run bench -- watch`: for one workload in one run, the agent's resident memory per watched object
 * and per idle account next to `@kubernetes/client-node`'s informer; the initial-sync throughput of both
 * next to the floor of merely `JSON.parse`-ing the same list bytes; and what an agent restart and a hub
 * restart re-send. See docs/performance.md for what each figure means.
 *
 * Every part is its own process: the sim (bench/support/sim-process.ts), the informer baseline
 * (bench/baseline/informer-process.ts), and the real `scale-agent hub` and `scale-agent agent`. All bind
 * 127.0.0.1 on OS-chosen ports; all are stopped at the end, on error, on Ctrl-C and at --timeout-seconds.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type { ApiResource } from '../src/kube/index.ts';
import { agentKindName, clientFor, informerKind, listRaw, resolveKinds, timeJsonParse, type ParseFloor } from './support/kube-lists.ts';
import { collectGarbage, INSPECT_ARG, inspectorUrl } from './support/inspector.ts';
import { median, sampleResident, type RssSample } from './support/memory.ts';
import {
  agentCounters,
  agentState,
  HubDatabase,
  startAgent,
  startHub,
  writeAgentConfig,
  type AgentCounters,
  type AgentState,
  type RunningAgent,
  type RunningHub,
} from './support/parts.ts';
import { poll, ProcessRegistry, REPO_ROOT, sleep, type BenchProcess } from './support/processes.ts';
import { environment, formatBytes, formatCount, formatRatio, formatSeconds, renderMarkdown, renderText, writeResults, type Table } from './support/report.ts';
import type { SimProcessOptions } from './support/sim-process.ts';
import type { ChangedObject } from './support/workload.ts';
import type { InformerProcessSpec } from './baseline/informer-process.ts';
import { nonNegativeInt, nonNegativeNumber, positiveInt } from './support/cli-args.ts';

interface WatchFlags {
  clusters: number;
  objects: number;
  idleAccounts: number;
  kinds?: string[];
  replicas: number;
  changePercent: number;
  settleSeconds: number;
  samples: number;
  sampleIntervalMs: number;
  parseRepetitions: number;
  repeat: number;
  timeoutSeconds: number;
  out: string;
  keepTemp: boolean;
}

function percent(value: string): number {
  const n = nonNegativeNumber(value);
  if (n > 100) throw new InvalidArgumentError('must be at most 100');
  return n;
}

function kindList(value: string): string[] {
  const kinds = value
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
  if (kinds.length === 0) throw new InvalidArgumentError('must name at least one kind');
  return kinds;
}

export function registerWatchBenchmark(program: Command): void {
  program
    .command('watch')
    .description(
      'Agent vs @kubernetes/client-node informer: resident memory per watched object and per idle account, initial-sync objects/s vs the JSON.parse floor, re-sends after agent and hub restarts',
    )
    .option('--clusters <n>', 'workload clusters, one agent account (and one set of informers) each', positiveInt, 10)
    .option('--objects <n>', 'objects per workload cluster (about: whole applications are created)', nonNegativeInt, 10_000)
    .option('--idle-accounts <n>', 'idle accounts (new, empty clusters) for the per-idle-account figure; 0 skips it', nonNegativeInt, 100)
    .option(
      '--kinds <list>',
      "comma-separated kinds both sides watch, in the agent's `kinds` syntax (default: every kind the agent watches by default)",
      kindList,
    )
    .option('--replicas <n>', 'pods per Deployment in the workload', nonNegativeInt, 2)
    .option('--change-percent <p>', 'share of the objects changed while the agent (then the hub) is down', percent, 1)
    .option('--settle-seconds <s>', 'pause after a sync before memory is sampled', nonNegativeNumber, 3)
    .option('--samples <n>', 'resident-memory samples per measurement (the median is reported)', positiveInt, 5)
    .option('--sample-interval-ms <ms>', 'pause between memory samples', nonNegativeInt, 500)
    .option('--repeat <n>', 'run every measured process this many times (interleaved) and report medians', positiveInt, 1)
    .option('--parse-repetitions <n>', 'repetitions of the JSON.parse floor (the fastest is reported)', positiveInt, 3)
    .option('--timeout-seconds <s>', 'stop everything and fail after this long', positiveInt, 900)
    .option('--out <dir>', 'directory for watch.json and watch.md', 'bench/results')
    .option('--keep-temp', 'keep the temporary directory (kubeconfigs, configurations, hub databases)', false)
    .action(async (flags: WatchFlags) => {
      await runWatchBenchmark(flags);
    });
}

/** One measured process state: a set of accounts, synced, then sampled. */
interface RunResult {
  accounts: number;
  objects: number;
  /** From process start until fully synced (see docs/performance.md), ms. */
  syncMs: number;
  /** Agent only: from process start until every reflector had listed everything, ms. */
  listedMs?: number;
  /** Resident size after the settle. */
  rss: RssSample;
  /** V8 heap in use after the settle. */
  heapUsedBytes: number;
  /** Resident size after a forced full garbage collection. */
  rssAfterGc: RssSample;
  heapUsedAfterGcBytes: number;
  /** V8 heap reserved, and memory outside it (Buffers etc.), after the GC: where the RSS goes. */
  heapTotalAfterGcBytes: number;
  externalAfterGcBytes: number;
  /** Agent only: what it streamed during the initial sync. */
  changesSent?: number;
  bytesSent?: number;
  /** Agent only: the hub's resident size after the sync. */
  hubRssBytes?: number;
  /** Informer only: errors the informers reported. */
  errors?: number;
}

interface RestartResult {
  /** Objects changed in the sim while the part was down. */
  changed: number;
  /** Events the sim logged for those changes (equal to `changed`: no controller reacts to these kinds). */
  simEvents: number;
  /** Objects the hub rewrote (upserts committed) after the restart. */
  objectsResent: number;
  /** Changes the agent streamed after the restart (upserts, deletes, touches, snapshot markers). */
  changesSent: number;
  /** Object bytes the agent streamed after the restart. */
  bytesSent: number;
  /** Lists the agent's reflectors made after the restart (0 = every feed resumed its watch). */
  relists: number;
  /** From the restarted process's start until the hub held every change, ms. */
  caughtUpMs: number;
}

/** Pause between a forced garbage collection and the memory samples after it. */
const GC_PAUSE_MS = 1000;

const log = (startedAt: number, message: string) =>
  process.stderr.write(`[watch ${((performance.now() - startedAt) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);

export async function runWatchBenchmark(flags: WatchFlags): Promise<void> {
  const t0 = performance.now();
  const startedAt = new Date();
  const loadAtStart = loadavg();
  const deadline = t0 + flags.timeoutSeconds * 1000;
  const remaining = () => Math.max(1000, deadline - performance.now());
  const say = (message: string) => log(t0, message);
  const registry = new ProcessRegistry();
  const dir = mkdtempSync(join(tmpdir(), 'scale-agent-bench-watch-'));
  const guard = setTimeout(() => {
    process.stderr.write(`watch: gave up after --timeout-seconds ${flags.timeoutSeconds}; stopping every process\n`);
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

  try {
    const loadNames = Array.from({ length: flags.clusters }, (_, i) => `load-${i + 1}`);
    const idleNames = Array.from({ length: Math.max(flags.clusters, flags.idleAccounts) }, (_, i) => `idle-${i + 1}`);
    const emptyNames = idleNames.slice(0, flags.clusters);
    const idleAccountNames = idleNames.slice(0, flags.idleAccounts);
    const kubeconfigDir = join(dir, 'kubeconfigs');
    const kubeconfig = (name: string) => join(kubeconfigDir, `${name}.yaml`);

    // --- the sim ---------------------------------------------------------------------------------
    say(`starting the sim: ${flags.clusters} workload clusters of ~${formatCount(flags.objects)} objects, ${idleNames.length} idle clusters`);
    const simOptions: SimProcessOptions = {
      loadClusters: loadNames,
      idleClusters: idleNames,
      objectsPerCluster: flags.objects,
      replicas: flags.replicas,
      kubeconfigDir,
    };
    const sim = registry.spawnTs('sim', 'bench/support/sim-process.ts', [JSON.stringify(simOptions)], { stdin: true });
    const simReady = await sim.waitForJson<{ seedMs: number; plan: Record<string, number> }>(
      (r) => r.type === 'ready',
      remaining(),
      'the sim to start and seed the workload',
    );
    say(`sim ready (seeded in ${formatSeconds(simReady.seedMs)})`);

    const kinds = await resolveKinds(kubeconfig(idleNames[0]!), flags.kinds);
    const kindNames = kinds.map(agentKindName);
    say(`watching ${kinds.length} kinds: ${kindNames.join(', ')}`);

    // --- what the clusters hold, and the JSON.parse floor --------------------------------------------
    say('listing the workload (raw pages, as the agent pages) for the expected counts and the JSON.parse floor');
    const objectsPerKind: Record<string, number> = {};
    let pages: Buffer[] = [];
    let workloadObjects = 0;
    let listBytes = 0;
    for (const name of loadNames) {
      const client = await clientFor(kubeconfig(name));
      try {
        for (const kind of kinds) {
          const raw = await listRaw(client, kind, true);
          pages.push(...raw.pages);
          workloadObjects += raw.objects;
          listBytes += raw.bytes;
          objectsPerKind[agentKindName(kind)] = (objectsPerKind[agentKindName(kind)] ?? 0) + raw.objects;
        }
      } finally {
        await client.close();
      }
    }
    const pageCount = pages.length;
    const floor: ParseFloor = timeJsonParse(pages, workloadObjects, flags.parseRepetitions);
    pages = [];
    say(
      `workload: ${formatCount(workloadObjects)} objects in ${pageCount} pages, ${formatBytes(listBytes)}; JSON.parse floor ${formatCount(floor.objectsPerSecond)} objects/s`,
    );

    const idleObjects = new Map<string, number>();
    await Promise.all(
      idleNames.map(async (name) => {
        const client = await clientFor(kubeconfig(name));
        try {
          let n = 0;
          for (const kind of kinds) n += (await listRaw(client, kind, false)).objects;
          idleObjects.set(name, n);
        } finally {
          await client.close();
        }
      }),
    );
    const objectsIn = (names: string[]) => names.reduce((sum, n) => sum + (idleObjects.get(n) ?? 0), 0);

    const runSets = [
      { key: 'noAccounts', accounts: [] as string[], objects: 0 },
      { key: 'emptyAccounts', accounts: emptyNames, objects: objectsIn(emptyNames) },
      ...(flags.idleAccounts > 0 ? [{ key: 'idleAccounts', accounts: idleAccountNames, objects: objectsIn(idleAccountNames) }] : []),
      { key: 'workload', accounts: loadNames, objects: workloadObjects },
    ];
    const settle = () => sleep(flags.settleSeconds * 1000);
    const fullGc = async (proc: BenchProcess) => {
      await collectGarbage(await inspectorUrl(proc, remaining()));
      await sleep(GC_PAUSE_MS);
    };
    const sampleRss = (pid: number) => sampleResident(pid, flags.samples, flags.sampleIntervalMs);

    // --- warm-up: the first start of each program fills tsx's compile cache; measure warm starts only ---
    say('warming up: one start of the informer process, the hub and the agent');
    const informerKinds = kinds.map(informerKind);
    {
      const specPath = join(dir, 'informer-warm-up.json');
      writeFileSync(specPath, JSON.stringify({ accounts: [], kinds: informerKinds } satisfies InformerProcessSpec));
      const informer = registry.spawnTs('informer', 'bench/baseline/informer-process.ts', [specPath], { stdin: true, nodeArgs: [INSPECT_ARG] });
      await informer.waitForJson((r) => r.type === 'synced', remaining(), 'the informer process to start (warm-up)');
      await informer.stop();
      const hub = await startHub(registry, { databasePath: join(dir, 'hub-warm-up.db'), timeoutMs: remaining() });
      const configPath = join(dir, 'agent-warm-up.yaml');
      writeAgentConfig(configPath, { hubGrpcPort: hub.grpcPort, accounts: [], kinds: kindNames });
      const agent = await startAgent(registry, configPath, remaining(), [INSPECT_ARG]);
      await agent.process.stop();
      await hub.process.stop();
    }

    // --- measured runs: --repeat times the informer runs, then the agent runs; medians are reported ---
    const informerRepetitions: Record<string, RunResult[]> = {};
    const agentRepetitions: Record<string, RunResult[]> = {};
    let kept: { hub: RunningHub; agent: RunningAgent; db: HubDatabase; configPath: string } | undefined;
    for (let repetition = 1; repetition <= flags.repeat; repetition++) {
      const tag = flags.repeat > 1 ? ` (repetition ${repetition} of ${flags.repeat})` : '';
      for (const set of runSets) {
        say(`client-node informers: ${set.accounts.length} accounts, ${formatCount(set.objects)} objects${tag}`);
        (informerRepetitions[set.key] ??= []).push(await informerRun(`${set.key}-${repetition}`, set.accounts, set.objects));
      }
      for (const set of runSets) {
        say(`scale-agent: ${set.accounts.length} accounts, ${formatCount(set.objects)} objects${tag}`);
        // The last workload run keeps its hub and agent for the restart scenarios.
        const run = await agentRun(`${set.key}-${repetition}`, set.accounts, set.objects, repetition === flags.repeat && set.key === 'workload');
        (agentRepetitions[set.key] ??= []).push(run.result);
        if (run.kept) kept = run.kept;
      }
    }
    const informerRuns = medianRuns(informerRepetitions);
    const agentRuns = medianRuns(agentRepetitions);

    async function informerRun(key: string, accounts: string[], expected: number): Promise<RunResult> {
      const specPath = join(dir, `informer-${key}.json`);
      const spec: InformerProcessSpec = { accounts: accounts.map((name) => ({ name, kubeconfig: kubeconfig(name) })), kinds: informerKinds };
      writeFileSync(specPath, JSON.stringify(spec));
      const proc = registry.spawnTs('informer', 'bench/baseline/informer-process.ts', [specPath], { stdin: true, nodeArgs: [INSPECT_ARG] });
      let errors = 0;
      let firstError = '';
      proc.onLine((line) => {
        if (!line.includes('"informer-error"')) return;
        errors++;
        firstError ||= line;
      });
      const synced = await proc.waitForJson<{ objects: number }>((r) => r.type === 'synced', remaining(), `the informers (${key}) to list`);
      let syncedAt = performance.now();
      if (synced.objects !== expected) {
        await poll(async () => (await informerStats(proc)).objects === expected, {
          timeoutMs: remaining(),
          intervalMs: 200,
          what: `the informers (${key}) to hold ${expected} objects`,
          alive: () => proc.assertRunning(),
        });
        syncedAt = performance.now();
      }
      await settle();
      const rss = await sampleRss(proc.pid);
      const stats = await informerStats(proc);
      await fullGc(proc);
      const rssAfterGc = await sampleRss(proc.pid);
      const statsAfterGc = await informerStats(proc);
      await proc.stop();
      if (errors > 0) say(`warning: the informers (${key}) reported ${errors} errors, the first: ${firstError}`);
      return {
        accounts: accounts.length,
        objects: stats.objects,
        syncMs: syncedAt - proc.startedAt,
        rss,
        heapUsedBytes: stats.memory.heapUsed,
        rssAfterGc,
        heapUsedAfterGcBytes: statsAfterGc.memory.heapUsed,
        heapTotalAfterGcBytes: statsAfterGc.memory.heapTotal,
        externalAfterGcBytes: statsAfterGc.memory.external,
        errors,
      };
    }

    // --- one agent run, with its own hub (a fresh database: every run is an initial sync) -------------
    async function agentRun(key: string, accounts: string[], expected: number, keep: boolean): Promise<{ result: RunResult; kept?: typeof kept }> {
      const databasePath = join(dir, `hub-${key}.db`);
      const hub = await startHub(registry, { databasePath, timeoutMs: remaining() });
      const configPath = join(dir, `agent-${key}.yaml`);
      writeAgentConfig(configPath, {
        hubGrpcPort: hub.grpcPort,
        accounts: accounts.map((name) => ({ name, kubeconfigFile: kubeconfig(name) })),
        kinds: kindNames,
      });
      const agent = await startAgent(registry, configPath, remaining(), [INSPECT_ARG]);
      const db = new HubDatabase(databasePath);
      const feeds = accounts.length * kinds.length;
      let listedAt: number | undefined;
      let last: AgentState | undefined;
      const syncedAt = await poll(
        async () => {
          const s = (last = await agentState(agent.adminUrl));
          if (s.hubState !== 'connected') return false;
          const listed = s.feeds === feeds && s.watching === feeds && s.known === expected;
          if (listed && listedAt === undefined) listedAt = performance.now();
          if (!listed || s.pending > 0 || s.unackedBatches > 0) return false;
          return db.objectCount() === expected ? performance.now() : false;
        },
        {
          timeoutMs: remaining(),
          // Fine-grained timing, but without loading an agent that has thousands of feeds to report.
          intervalMs: feeds > 500 ? 250 : 50,
          what: `the agent (${key}) to sync ${expected} objects to the hub`,
          alive: () => {
            agent.process.assertRunning();
            hub.process.assertRunning();
          },
          describe: () => `agent: ${JSON.stringify(last)}, hub objects: ${db.objectCount()}`,
        },
      );
      await settle();
      const rss = await sampleRss(agent.process.pid);
      const hubRss = await sampleRss(hub.process.pid);
      const counters = await agentCounters(agent.adminUrl);
      await fullGc(agent.process);
      const rssAfterGc = await sampleRss(agent.process.pid);
      const countersAfterGc = await agentCounters(agent.adminUrl);
      const result: RunResult = {
        accounts: accounts.length,
        objects: expected,
        syncMs: syncedAt - agent.process.startedAt,
        listedMs: (listedAt ?? syncedAt) - agent.process.startedAt,
        rss,
        heapUsedBytes: counters.heapUsedBytes,
        rssAfterGc,
        heapUsedAfterGcBytes: countersAfterGc.heapUsedBytes,
        heapTotalAfterGcBytes: countersAfterGc.heapTotalBytes,
        externalAfterGcBytes: countersAfterGc.externalBytes,
        changesSent: counters.changesSent,
        bytesSent: counters.bytesSent,
        hubRssBytes: hubRss.medianBytes,
      };
      if (keep) return { result, kept: { hub, agent, db, configPath } };
      db.close();
      await agent.process.stop();
      await hub.process.stop();
      return { result };
    }

    // --- restarts ------------------------------------------------------------------------------------
    if (!kept) throw new Error('the workload run did not keep its hub and agent');
    const changeCount = Math.max(1, Math.round((workloadObjects * flags.changePercent) / 100));
    const mutate = async (revision: string, seed: number): Promise<{ changes: ChangedObject[]; events: number }> => {
      const answer = sim.waitForJson<{ changes: ChangedObject[]; events: number }>(
        (r) => r.type === 'mutated' || r.type === 'error',
        remaining(),
        'the sim to change objects',
      );
      sim.send(JSON.stringify({ cmd: 'mutate', clusters: loadNames, count: changeCount, revision, seed }));
      const result = await answer;
      if (!Array.isArray(result.changes)) throw new Error(`the sim could not change objects: ${JSON.stringify(result)}`);
      return result;
    };
    const untilCaughtUp = async (agent: RunningAgent, hub: RunningHub, db: HubDatabase, changes: ChangedObject[], what: string) => {
      const feeds = loadNames.length * kinds.length;
      let last: AgentState | undefined;
      let holding = 0;
      return poll(
        async () => {
          const s = (last = await agentState(agent.adminUrl));
          if (s.hubState !== 'connected' || s.feeds !== feeds || s.watching !== feeds || s.pending > 0 || s.unackedBatches > 0) return false;
          holding = db.holding(changes);
          return holding === changes.length ? performance.now() : false;
        },
        {
          timeoutMs: remaining(),
          what,
          alive: () => {
            agent.process.assertRunning();
            hub.process.assertRunning();
          },
          describe: () => `agent: ${JSON.stringify(last)}, hub holds ${holding}/${changes.length} changes`,
        },
      );
    };

    say(`agent restart: stopping the agent, changing ${formatCount(changeCount)} objects, starting it again`);
    const { db, configPath } = kept;
    let { hub, agent } = kept;
    await agent.process.stop();
    const agentMutation = await mutate('agent-restart', 1);
    const agentRestartSince = Date.now();
    agent = await startAgent(registry, configPath, remaining(), [INSPECT_ARG]);
    const agentCaughtUpAt = await untilCaughtUp(agent, hub, db, agentMutation.changes, 'the restarted agent to re-send the changes');
    await settle();
    const afterAgentRestart = await agentCounters(agent.adminUrl);
    const agentRestart: RestartResult = {
      changed: agentMutation.changes.length,
      simEvents: agentMutation.events,
      objectsResent: db.upsertedSince(agentRestartSince),
      changesSent: afterAgentRestart.changesSent,
      bytesSent: afterAgentRestart.bytesSent,
      relists: (await agentState(agent.adminUrl)).relists,
      caughtUpMs: agentCaughtUpAt - agent.process.startedAt,
    };
    say(`agent restart: ${agentRestart.changed} changed, ${agentRestart.objectsResent} objects re-sent`);

    say(`hub restart: stopping the hub, changing ${formatCount(changeCount)} objects, starting it again`);
    const beforeHubRestart: AgentCounters = await agentCounters(agent.adminUrl);
    const relistsBeforeHubRestart = (await agentState(agent.adminUrl)).relists;
    db.close();
    await hub.process.stop();
    const hubMutation = await mutate('hub-restart', 2);
    const hubRestartSince = Date.now();
    hub = await startHub(registry, { databasePath: hub.databasePath, grpcPort: hub.grpcPort, timeoutMs: remaining() });
    const hubCaughtUpAt = await untilCaughtUp(agent, hub, db, hubMutation.changes, 'the agent to re-send the changes to the restarted hub');
    await settle();
    const afterHubRestart = await agentCounters(agent.adminUrl);
    const hubRestart: RestartResult = {
      changed: hubMutation.changes.length,
      simEvents: hubMutation.events,
      objectsResent: db.upsertedSince(hubRestartSince),
      changesSent: afterHubRestart.changesSent - beforeHubRestart.changesSent,
      bytesSent: afterHubRestart.bytesSent - beforeHubRestart.bytesSent,
      relists: (await agentState(agent.adminUrl)).relists - relistsBeforeHubRestart,
      caughtUpMs: hubCaughtUpAt - hub.process.startedAt,
    };
    say(`hub restart: ${hubRestart.changed} changed, ${hubRestart.objectsResent} objects re-sent`);
    db.close();

    // --- figures ---------------------------------------------------------------------------------------
    // Memory per watched object and per idle account, by differences between runs of the same process kind.
    type Pick = (r: RunResult) => number;
    const measures: Record<'rssAfterSync' | 'heapUsedAfterSync' | 'rssAfterGc' | 'heapUsedAfterGc', Pick> = {
      rssAfterSync: (r) => r.rss.medianBytes,
      heapUsedAfterSync: (r) => r.heapUsedBytes,
      rssAfterGc: (r) => r.rssAfterGc.medianBytes,
      heapUsedAfterGc: (r) => r.heapUsedAfterGcBytes,
    };
    const memoryFigures = (runs: Record<string, RunResult>) => {
      const perObjectBytes: Record<string, number> = {};
      const perIdleAccountBytes: Record<string, number> = {};
      for (const [name, pick] of Object.entries(measures)) {
        perObjectBytes[name] = (pick(runs.workload!) - pick(runs.emptyAccounts!)) / (runs.workload!.objects - runs.emptyAccounts!.objects);
        perIdleAccountBytes[name] = runs.idleAccounts ? (pick(runs.idleAccounts) - pick(runs.noAccounts!)) / runs.idleAccounts.accounts : NaN;
      }
      return { perObjectBytes, perIdleAccountBytes };
    };
    // Not measurable when the workload syncs within the start-up's noise: NaN (null in the JSON, n/a in tables).
    const netRate = (runs: Record<string, RunResult>, field: 'syncMs' | 'listedMs') => {
      const ms = runs.workload![field]! - runs.emptyAccounts![field]!;
      return ms > 0 ? (runs.workload!.objects - runs.emptyAccounts!.objects) / (ms / 1000) : NaN;
    };
    const grossRate = (runs: Record<string, RunResult>) => runs.workload!.objects / (runs.workload!.syncMs / 1000);

    const agentFigures = {
      ...memoryFigures(agentRuns),
      objectsPerSecondNet: netRate(agentRuns, 'syncMs'),
      objectsPerSecondGross: grossRate(agentRuns),
      listedObjectsPerSecondNet: netRate(agentRuns, 'listedMs'),
    };
    const informerFigures = {
      ...memoryFigures(informerRuns),
      objectsPerSecondNet: netRate(informerRuns, 'syncMs'),
      objectsPerSecondGross: grossRate(informerRuns),
    };
    const ratioOf = (a: Record<string, number>, b: Record<string, number>) => Object.fromEntries(Object.keys(a).map((k) => [k, a[k]! / b[k]!]));
    const ratios = {
      memoryPerObjectAgentToInformer: ratioOf(agentFigures.perObjectBytes, informerFigures.perObjectBytes),
      memoryPerIdleAccountAgentToInformer: ratioOf(agentFigures.perIdleAccountBytes, informerFigures.perIdleAccountBytes),
      syncRateAgentToFloor: agentFigures.objectsPerSecondNet / floor.objectsPerSecond,
      listRateAgentToFloor: agentFigures.listedObjectsPerSecondNet / floor.objectsPerSecond,
      syncRateInformerToFloor: informerFigures.objectsPerSecondNet / floor.objectsPerSecond,
      syncRateAgentToInformer: agentFigures.objectsPerSecondNet / informerFigures.objectsPerSecondNet,
      agentRestartResentToChanged: agentRestart.objectsResent / agentRestart.changed,
      hubRestartResentToChanged: hubRestart.objectsResent / hubRestart.changed,
    };

    const result = {
      benchmark: 'watch',
      startedAt: startedAt.toISOString(),
      durationSeconds: Math.round((performance.now() - t0) / 100) / 10,
      environment: { ...environment(), loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg() },
      options: flags,
      workload: {
        clusters: flags.clusters,
        idleAccounts: flags.idleAccounts,
        kinds: kindNames,
        objects: workloadObjects,
        objectsPerKind,
        listPages: pageCount,
        listBytes,
        meanListBytesPerObject: listBytes / workloadObjects,
        emptyClusterObjects: idleObjects.get(idleNames[0]!) ?? 0,
        simSeedMs: simReady.seedMs,
        simPlan: simReady.plan,
      },
      floor,
      informer: { runs: informerRuns, ...informerFigures, repetitions: informerRepetitions },
      agent: { runs: agentRuns, ...agentFigures, agentRestart, hubRestart, repetitions: agentRepetitions },
      ratios,
    };

    const tables = buildTables(flags, result.workload, floor, agentRuns, informerRuns, agentFigures, informerFigures, ratios, agentRestart, hubRestart, kinds);
    const heading = [
      `Watch benchmark, ${startedAt.toISOString()}: ${flags.clusters} clusters, ${formatCount(workloadObjects)} objects of ${kinds.length} kinds, ${flags.idleAccounts} idle accounts` +
        `${flags.repeat > 1 ? `, medians of ${flags.repeat} repetitions` : ''}; node ${process.version}, ${result.environment.cpus} CPUs (${result.environment.cpuModel ?? 'unknown'}), ` +
        `@kubernetes/client-node ${result.environment.clientNodeVersion ?? '?'}; load average ${loadAtStart[0]!.toFixed(2)} at the start, ${result.environment.loadAverageAtEnd[0]!.toFixed(2)} at the end`,
    ];
    process.stdout.write('\n' + heading.join('\n') + '\n\n' + tables.map(renderText).join('\n\n') + '\n\n');
    const command = `npm run bench -- watch ${process.argv.slice(3).join(' ')}`.trim();
    const markdown = [`# Watch benchmark`, '', heading.join('\n'), '', `Command: \`${command}\``, '', ...tables.flatMap((t) => [renderMarkdown(t), ''])].join(
      '\n',
    );
    const paths = writeResults(resolve(REPO_ROOT, flags.out), 'watch', result, markdown);
    say(`wrote ${paths.json} and ${paths.markdown}`);
  } finally {
    clearTimeout(guard);
    await registry.stopAll();
    registry.dispose();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (flags.keepTemp) say(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/** Per run set, the median of each figure over the repetitions (the samples of all are kept). */
function medianRuns(repetitions: Record<string, RunResult[]>): Record<string, RunResult> {
  const out: Record<string, RunResult> = {};
  for (const [key, runs] of Object.entries(repetitions)) {
    const first = runs[0]!;
    if (runs.length === 1) {
      out[key] = first;
      continue;
    }
    const combined: Record<string, unknown> = { ...first, repetitions: runs.length };
    for (const [field, value] of Object.entries(first)) {
      if (typeof value === 'number' && field !== 'accounts' && field !== 'objects')
        combined[field] = median(runs.map((r) => (r as unknown as Record<string, number>)[field]!));
    }
    combined.rss = { medianBytes: median(runs.map((r) => r.rss.medianBytes)), samplesBytes: runs.flatMap((r) => r.rss.samplesBytes) };
    combined.rssAfterGc = { medianBytes: median(runs.map((r) => r.rssAfterGc.medianBytes)), samplesBytes: runs.flatMap((r) => r.rssAfterGc.samplesBytes) };
    out[key] = combined as unknown as RunResult;
  }
  return out;
}

async function informerStats(proc: BenchProcess): Promise<{ objects: number; memory: NodeJS.MemoryUsage }> {
  const answer = proc.waitForJson<{ objects: number; memory: NodeJS.MemoryUsage }>((r) => r.type === 'stats', 30_000, 'informer stats');
  proc.send('stats');
  return answer;
}

type MemoryFigures = { perObjectBytes: Record<string, number>; perIdleAccountBytes: Record<string, number> };

function buildTables(
  flags: WatchFlags,
  workload: { objects: number; meanListBytesPerObject: number },
  floor: ParseFloor,
  agent: Record<string, RunResult>,
  informer: Record<string, RunResult>,
  agentFigures: MemoryFigures & { objectsPerSecondNet: number; objectsPerSecondGross: number; listedObjectsPerSecondNet: number },
  informerFigures: MemoryFigures & { objectsPerSecondNet: number; objectsPerSecondGross: number },
  ratios: { syncRateAgentToFloor: number; listRateAgentToFloor: number; syncRateInformerToFloor: number },
  agentRestart: RestartResult,
  hubRestart: RestartResult,
  kinds: ApiResource[],
): Table[] {
  // Each row: agent and informer after the sync, their ratio; the same after a forced full GC.
  const pair = (a: number, i: number) => [formatBytes(a), formatBytes(i), formatRatio(a / i)];
  const derivedRow = (label: string, figure: 'perObjectBytes' | 'perIdleAccountBytes', measure: 'rss' | 'heapUsed'): string[] => [
    label,
    ...pair(agentFigures[figure][`${measure}AfterSync`]!, informerFigures[figure][`${measure}AfterSync`]!),
    ...pair(agentFigures[figure][`${measure}AfterGc`]!, informerFigures[figure][`${measure}AfterGc`]!),
  ];
  const absoluteRow = (label: string, key: string, measure: 'rss' | 'heapUsed'): string[] => {
    const a = agent[key];
    const i = informer[key];
    if (!a || !i) return [label, 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a'];
    return measure === 'rss'
      ? [label, ...pair(a.rss.medianBytes, i.rss.medianBytes), ...pair(a.rssAfterGc.medianBytes, i.rssAfterGc.medianBytes)]
      : [label, ...pair(a.heapUsedBytes, i.heapUsedBytes), ...pair(a.heapUsedAfterGcBytes, i.heapUsedAfterGcBytes)];
  };
  const objects = formatCount(workload.objects);
  const memory: Table = {
    title: `Memory (RSS: median of ${flags.samples} samples; ${flags.settleSeconds} s after the sync, then again after a forced full GC)`,
    header: ['', 'scale-agent', 'client-node informer', 'agent ÷ informer', "scale-agent, GC'd", "informer, GC'd", "agent ÷ informer, GC'd"],
    rows: [
      derivedRow('RSS per watched object', 'perObjectBytes', 'rss'),
      derivedRow('JS heap per watched object', 'perObjectBytes', 'heapUsed'),
      ...(flags.idleAccounts > 0
        ? [derivedRow('RSS per idle account', 'perIdleAccountBytes', 'rss'), derivedRow('JS heap per idle account', 'perIdleAccountBytes', 'heapUsed')]
        : []),
      absoluteRow('RSS, no accounts', 'noAccounts', 'rss'),
      absoluteRow(`RSS, ${flags.clusters} empty accounts`, 'emptyAccounts', 'rss'),
      ...(flags.idleAccounts > 0 ? [absoluteRow(`RSS, ${flags.idleAccounts} idle accounts`, 'idleAccounts', 'rss')] : []),
      absoluteRow(`RSS, ${objects} objects`, 'workload', 'rss'),
      absoluteRow(`JS heap used, ${objects} objects`, 'workload', 'heapUsed'),
    ],
    notes: [
      `per watched object = (with the workload − with ${flags.clusters} empty accounts) ÷ the objects added` +
        (flags.idleAccounts > 0 ? `; per idle account = (with ${flags.idleAccounts} idle accounts − with none) ÷ ${flags.idleAccounts}.` : '.'),
      `Both sides watch the same ${kinds.length} kinds in every account. An idle account is a new cluster (${agent.emptyAccounts ? formatCount(agent.emptyAccounts.objects / Math.max(1, agent.emptyAccounts.accounts)) : '?'} objects: namespaces, node). Mean object size in the list responses: ${formatBytes(workload.meanListBytesPerObject)}.`,
      "GC'd = after HeapProfiler.collectGarbage through the inspector: what the process retains rather than what the sync left for a collection that had not run yet.",
      `Where the RSS goes after the GC, workload: scale-agent ${formatBytes(agent.workload!.heapUsedAfterGcBytes)} heap used of ${formatBytes(agent.workload!.heapTotalAfterGcBytes)} reserved, ${formatBytes(agent.workload!.externalAfterGcBytes)} external; ` +
        `informer ${formatBytes(informer.workload!.heapUsedAfterGcBytes)} of ${formatBytes(informer.workload!.heapTotalAfterGcBytes)}, ${formatBytes(informer.workload!.externalAfterGcBytes)} external.`,
    ],
  };
  const a = agent.workload!;
  const i = informer.workload!;
  const sync: Table = {
    title: `Initial sync of ${formatCount(workload.objects)} objects (${flags.clusters} clusters)`,
    header: ['', 'scale-agent → hub', 'client-node informer', 'JSON.parse floor'],
    rows: [
      [
        'objects/s (net of start-up)',
        formatCount(agentFigures.objectsPerSecondNet),
        formatCount(informerFigures.objectsPerSecondNet),
        formatCount(floor.objectsPerSecond),
      ],
      ['÷ JSON.parse floor', formatRatio(ratios.syncRateAgentToFloor), formatRatio(ratios.syncRateInformerToFloor), '1×'],
      ['objects/s (from process start)', formatCount(agentFigures.objectsPerSecondGross), formatCount(informerFigures.objectsPerSecondGross), ''],
      ['time to sync, from process start', formatSeconds(a.syncMs), formatSeconds(i.syncMs), formatSeconds(floor.bestSeconds * 1000)],
      [
        `time to sync ${flags.clusters} empty accounts (start-up)`,
        formatSeconds(agent.emptyAccounts!.syncMs),
        formatSeconds(informer.emptyAccounts!.syncMs),
        '',
      ],
      ...(agent.idleAccounts && informer.idleAccounts
        ? [[`time to sync ${flags.idleAccounts} idle accounts`, formatSeconds(agent.idleAccounts.syncMs), formatSeconds(informer.idleAccounts.syncMs), '']]
        : []),
    ],
    notes: [
      'scale-agent: listed, slimmed, streamed over gRPC and committed by the hub to SQLite (hub, agent and sim share the machine); client-node: every informer listed and watching.',
      `The agent's reflectors had listed everything after ${formatSeconds(a.listedMs!)} (${formatCount(agentFigures.listedObjectsPerSecondNet)} objects/s net, ${formatRatio(ratios.listRateAgentToFloor)} the floor); the rest is the hub committing the tail.`,
      `net = (objects − objects of the empty accounts) ÷ (sync time − sync time with ${flags.clusters} empty accounts); floor = UTF-8 decode + JSON.parse of the same list pages, best of ${flags.parseRepetitions}.`,
    ],
  };
  const restartRow = (label: string, r: RestartResult): string[] => [
    label,
    formatCount(r.changed),
    formatCount(r.objectsResent),
    formatRatio(r.objectsResent / r.changed),
    formatCount(r.changesSent),
    formatBytes(r.bytesSent),
    String(r.relists),
    formatSeconds(r.caughtUpMs),
  ];
  const restarts: Table = {
    title: `Restarts with ${formatCount(workload.objects)} objects cached (${flags.changePercent}% changed while down)`,
    header: ['', 'changed', 'objects re-sent', 're-sent ÷ changed', 'changes sent', 'bytes sent', 'relists', 'caught up in'],
    rows: [
      [
        'initial sync (reference)',
        formatCount(a.objects),
        formatCount(a.objects),
        '',
        formatCount(a.changesSent!),
        formatBytes(a.bytesSent!),
        '',
        formatSeconds(a.syncMs),
      ],
      restartRow('agent restart', agentRestart),
      restartRow('hub restart', hubRestart),
    ],
    notes: [
      'objects re-sent = objects the hub rewrote after the restart (upserts committed); changes sent = everything the agent streamed (upserts, touches, snapshot markers); bytes = object bytes.',
      "caught up = from the restarted process's start until the hub held every change.",
    ],
  };
  return [memory, sync, restarts];
}
