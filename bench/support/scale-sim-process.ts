/**
 * The scale benchmark's sim, in its own process: starts the sim with the workload clusters (`load-N`) and
 * the idle clusters (`idle-N`: new clusters with the custom kind's CRD and no objects of the watched kinds), seeds the workload in-process (bench/support/scale-workload.ts), waits
 * until the controllers are done, writes a kubeconfig per cluster and prints one JSON line:
 *
 *   {"type":"ready","url":…,"clusters":…,"objects":…,"seedMs":…,"churnKinds":[…],"pid":…}
 *
 * Then it takes commands on stdin, one JSON object a line, and answers on stdout:
 *
 *   {"cmd":"count","resources":["/configmaps","apps/deployments",…],"clusters":["load-1",…]}
 *       → {"type":"count","total":…}                       objects of those resources in those clusters
 *   {"cmd":"clock"} → {"type":"clock","now":…}             this process's clock (epoch ms, fractional)
 *   {"cmd":"churn","rate":2000}                            starts (or re-rates; 0 stops) the churn driver
 *       → {"type":"changes","c":[[cluster,kind,namespace,name,rv,writtenAt,seq],…]} every tick
 *   {"cmd":"stop-churn"} → {"type":"churn-stopped","changes":…,"lateTicks":…}
 *   {"cmd":"stats"} → {"type":"stats","eventLoopDelayMs":{"p50","p99","max"},"watches":…,"gc":{"major","majorMs","minor","minorMs"}}   (since the last stats)
 *   {"cmd":"gc-total"} → {"type":"gc-total","gc":{"major","majorMs","minor","minorMs"}}   (since the sim started)
 *
 * The churn driver changes objects no controller reacts to (ConfigMaps, Secrets, Services and the custom
 * kind), so one change is one event: a merge patch setting the annotation bench.scale-agent.io/churn to a
 * sequence number, in a random workload cluster, on a random object. Each change is reported with the
 * resourceVersion the sim gave it and the time the write returned (`writtenAt`, on the clock `clock`
 * reports: performance.timeOrigin + performance.now()).
 *
 * It exits on SIGTERM/SIGINT or when stdin closes (the benchmark went away).
 *
 * Usage: node --import tsx bench/support/scale-sim-process.ts '<json options>' (see ScaleSimOptions).
 */
import { monitorEventLoopDelay, PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { createDefinition } from '../../src/sim/faults-crd.ts';
import { startSim } from '../../src/sim/index.ts';
import { sleep } from './processes.ts';
import { untilQuiet } from './sim-quiet.ts';
import { prng } from './workload.ts';
import { CUSTOM_GROUP, CUSTOM_KIND, planScaleWorkload, seedScaleCluster } from './scale-workload.ts';

export interface ScaleSimOptions {
  loadClusters: number;
  idleClusters: number;
  objectsPerCluster: number;
  kubeconfigDir: string;
  /** Seed with server-side apply (managedFields as a real API server has them) or plain creates. */
  serverSideApply: boolean;
  /** Events kept per cluster (the sim's default is 10,000; seeding makes about two per object). */
  historyLimit: number;
  seed: number;
}

/** What the churn driver changes; the index is the `kind` of a reported change. */
export const CHURN_KINDS = [
  { apiVersion: 'v1', group: '', kind: 'ConfigMap', name: (app: number) => `app-${app}-config` },
  { apiVersion: 'v1', group: '', kind: 'Secret', name: (app: number) => `app-${app}-secret` },
  { apiVersion: 'v1', group: '', kind: 'Service', name: (app: number) => `app-${app}` },
  { apiVersion: `${CUSTOM_GROUP}/v1`, group: CUSTOM_GROUP, kind: CUSTOM_KIND, name: (app: number) => `app-${app}` },
] as const;

export const CHURN_ANNOTATION = 'bench.scale-agent.io/churn';
/** The churn driver's tick; changes owed since the last tick are made then, CHURN_WRITES_PER_SLICE at a time. */
const CHURN_TICK_MS = 5;
/**
 * Writes per turn of the event loop. A tick that comes late (the sim's own garbage collection) owes a
 * backlog: written in one go, each write's clock started while its watch event waited for the rest of
 * the backlog to be written, in the one thread that stands in for every cluster's API server (each of
 * which would have sent its event at once). Slices of this many, with the event loop turning between
 * them, let each slice's events leave before the next is written. An ordinary tick at 2,000 changes/s
 * owes 10.
 */
const CHURN_WRITES_PER_SLICE = 20;

const clock = () => performance.timeOrigin + performance.now();

function write(record: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(record) + '\n');
}

const options = JSON.parse(process.argv[2] ?? '{}') as ScaleSimOptions;
const loadNames = Array.from({ length: options.loadClusters }, (_, i) => `load-${i + 1}`);
const idleNames = Array.from({ length: options.idleClusters }, (_, i) => `idle-${i + 1}`);
const sim = await startSim({
  host: '127.0.0.1',
  port: 0,
  clusters: [...loadNames, ...idleNames],
  tls: true,
  podStartDelayMs: 0,
  historyLimit: options.historyLimit,
});

const seedStarted = performance.now();
const plan = planScaleWorkload(options.objectsPerCluster);
for (const name of loadNames) {
  seedScaleCluster(sim.cluster(name), plan, { serverSideApply: options.serverSideApply });
  // Let the controllers of this cluster catch up before the next one piles on.
  await sleep(0);
}
// Idle clusters serve the same kinds (the custom one too) but hold no objects of them.
for (const name of idleNames) createDefinition(sim.cluster(name), { group: CUSTOM_GROUP, kind: CUSTOM_KIND, plural: 'servicemonitors' });
await untilQuiet(sim);
const seedMs = Math.round(performance.now() - seedStarted);
await sim.writeKubeconfigs(options.kubeconfigDir);
const objects = sim.clusterNames().reduce((sum, name) => sum + sim.cluster(name).objectCount(), 0);
write({
  type: 'ready',
  url: sim.url,
  clusters: sim.clusterNames().length,
  objects,
  plan: { apps: plan.apps, namespaces: plan.namespaces.length },
  seedMs,
  churnKinds: CHURN_KINDS.map((k) => ({ group: k.group, kind: k.kind })),
  pid: process.pid,
});

// --- churn ------------------------------------------------------------------------------------------
const random = prng(options.seed);
let churnRate = 0;
let churnTimer: NodeJS.Timeout | undefined;
let lastTick = 0;
let owed = 0;
let seq = 0;
let made = 0;
let lateTicks = 0;

function churnTick(): void {
  const now = performance.now();
  const elapsed = now - lastTick;
  if (elapsed > CHURN_TICK_MS * 4) lateTicks++;
  lastTick = now;
  owed += (churnRate * elapsed) / 1000;
  // A slice already scheduled writes what this tick added.
  if (!sliceScheduled) writeOwedSlice();
}

/** Whether a slice is waiting for its turn of the event loop. */
let sliceScheduled = false;

/** Makes up to CHURN_WRITES_PER_SLICE of the changes owed, and schedules the next slice while more are owed. */
function writeOwedSlice(): void {
  sliceScheduled = false;
  const changes: unknown[] = [];
  while (owed >= 1 && plan.apps > 0 && changes.length < CHURN_WRITES_PER_SLICE) {
    owed--;
    const cluster = Math.floor(random() * loadNames.length);
    const kind = Math.floor(random() * CHURN_KINDS.length);
    const app = Math.floor(random() * plan.apps);
    const k = CHURN_KINDS[kind]!;
    const namespace = plan.namespaces[app % plan.namespaces.length]!;
    const name = k.name(app);
    seq++;
    const object = sim
      .cluster(loadNames[cluster]!)
      .patch(k.apiVersion, k.kind, namespace, name, { metadata: { annotations: { [CHURN_ANNOTATION]: String(seq) } } });
    changes.push([cluster, kind, namespace, name, Number(object.metadata?.resourceVersion ?? 0), clock(), seq]);
    made++;
  }
  if (changes.length > 0) write({ type: 'changes', c: changes });
  if (owed >= 1 && churnRate > 0) {
    sliceScheduled = true;
    setImmediate(writeOwedSlice);
  }
}

function setChurn(rate: number): void {
  churnRate = rate;
  if (rate <= 0) {
    clearInterval(churnTimer);
    churnTimer = undefined;
    owed = 0;
    return;
  }
  if (churnTimer === undefined) {
    lastTick = performance.now();
    churnTimer = setInterval(churnTick, CHURN_TICK_MS);
  }
}

// --- commands ---------------------------------------------------------------------------------------
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
/** Garbage collections since the last stats, by kind: a simulator holding a million objects pays for its heap here. */
const gc = { major: 0, majorMs: 0, minor: 0, minorMs: 0 };
/** The same since the sim started (the sync timeline reads it every second; stats resets the other). */
const gcTotal = { major: 0, majorMs: 0, minor: 0, minorMs: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
    if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR || kind === perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL) {
      gc.major++;
      gc.majorMs += entry.duration;
      gcTotal.major++;
      gcTotal.majorMs += entry.duration;
    } else {
      gc.minor++;
      gc.minorMs += entry.duration;
      gcTotal.minor++;
      gcTotal.minorMs += entry.duration;
    }
  }
}).observe({ entryTypes: ['gc'] });

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  setChurn(0);
  await sim.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());

const commands = createInterface({ input: process.stdin });
commands.on('close', () => void stop());
commands.on('line', (line) => {
  if (line.trim() === '') return;
  try {
    const command = JSON.parse(line) as { cmd: string; resources?: string[]; clusters?: string[]; rate?: number };
    switch (command.cmd) {
      case 'clock':
        write({ type: 'clock', now: clock() });
        return;
      case 'count': {
        let total = 0;
        for (const name of command.clusters ?? loadNames) {
          const cluster = sim.cluster(name);
          for (const resource of command.resources ?? []) total += cluster.store.collection(resource).size;
        }
        write({ type: 'count', total });
        return;
      }
      case 'churn':
        made = 0;
        lateTicks = 0;
        setChurn(command.rate ?? 0);
        write({ type: 'churning', rate: churnRate });
        return;
      case 'stats': {
        const ms = (ns: number) => Math.round(ns / 1e4) / 100;
        const watches = sim.clusterNames().reduce((n, name) => n + sim.cluster(name).store.watches.size, 0);
        write({
          type: 'stats',
          eventLoopDelayMs: { p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) },
          watches,
          gc: { ...gc },
        });
        loopDelay.reset();
        Object.assign(gc, { major: 0, majorMs: 0, minor: 0, minorMs: 0 });
        return;
      }
      case 'gc-total':
        write({ type: 'gc-total', gc: { ...gcTotal } });
        return;
      case 'stop-churn':
        setChurn(0);
        write({ type: 'churn-stopped', changes: made, lateTicks });
        return;
      default:
        throw new Error(`unknown command ${command.cmd}`);
    }
  } catch (err) {
    write({ type: 'error', message: (err as Error).message });
  }
});
