/**
 * The benchmarks' sim, in its own process (never in the process being measured): starts the sim with
 * the workload clusters and the idle clusters, seeds the workload in-process (far faster than over
 * HTTP), waits until the controllers are done, writes a kubeconfig per cluster and prints one JSON line:
 *
 *   {"type":"ready","url":…,"kubeconfigDir":…,"clusters":{"load-1":{"objects":…,"resourceVersion":…},…},"seedMs":…}
 *
 * Then it takes commands on stdin, one JSON object a line, and answers on stdout:
 *
 *   {"cmd":"mutate","clusters":["load-1",…],"count":1000,"revision":"r1","seed":1}
 *     → {"type":"mutated","changes":[{cluster,group,kind,namespace,name,resourceVersion},…],"events":…}
 *
 * It exits on SIGTERM/SIGINT or when stdin closes (the benchmark went away).
 *
 * Usage: node --import tsx bench/support/sim-process.ts '<json options>' (see SimProcessOptions).
 */
import { createInterface } from 'node:readline';
import { startSim } from '../../src/sim/index.ts';
import { sleep } from './processes.ts';
import { totalVersion, untilQuiet } from './sim-quiet.ts';
import { mutateCluster, planWorkload, prng, seedCluster, type ChangedObject } from './workload.ts';

export interface SimProcessOptions {
  /** Clusters that get the workload. */
  loadClusters: string[];
  /** Clusters left as a new cluster starts (three namespaces and a node). */
  idleClusters: string[];
  /** About how many objects each workload cluster holds. */
  objectsPerCluster: number;
  replicas: number;
  kubeconfigDir: string;
}

function write(record: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(record) + '\n');
}

const options = JSON.parse(process.argv[2] ?? '{}') as SimProcessOptions;
const sim = await startSim({
  host: '127.0.0.1',
  port: 0,
  clusters: [...options.loadClusters, ...options.idleClusters],
  tls: true,
  // Pods run at once: the seeded workload settles without waiting on timers.
  podStartDelayMs: 0,
});

const seedStarted = performance.now();
const plan = planWorkload(options.objectsPerCluster, options.replicas);
for (const name of options.loadClusters) {
  seedCluster(sim.cluster(name), plan);
  // Let the controllers of this cluster catch up before the next one piles on.
  await sleep(0);
}
await untilQuiet(sim);
const seedMs = Math.round(performance.now() - seedStarted);
await sim.writeKubeconfigs(options.kubeconfigDir);

const clusters: Record<string, { objects: number; resourceVersion: number }> = {};
for (const name of sim.clusterNames()) clusters[name] = { objects: sim.cluster(name).objectCount(), resourceVersion: sim.cluster(name).resourceVersion };
write({
  type: 'ready',
  url: sim.url,
  kubeconfigDir: options.kubeconfigDir,
  clusters,
  plan: { apps: plan.apps, namespaces: plan.namespaces.length, replicas: plan.replicas },
  seedMs,
  pid: process.pid,
});

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
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
    const command = JSON.parse(line) as { cmd: string; clusters: string[]; count: number; revision: string; seed?: number };
    if (command.cmd !== 'mutate') throw new Error(`unknown command ${command.cmd}`);
    const random = prng(command.seed ?? 1);
    const before = totalVersion(sim);
    const changes: ChangedObject[] = [];
    const names = command.clusters;
    for (let i = 0; i < names.length; i++) {
      // Spread the count evenly; the first clusters take the remainder.
      const share = Math.floor(command.count / names.length) + (i < command.count % names.length ? 1 : 0);
      changes.push(...mutateCluster(sim.cluster(names[i]!), share, command.revision, random));
    }
    write({ type: 'mutated', changes, events: totalVersion(sim) - before });
  } catch (err) {
    write({ type: 'error', message: (err as Error).message });
  }
});
