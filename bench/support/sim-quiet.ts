import { sleep } from './processes.ts';

/** How long no cluster may change for the seeded workload to count as settled, and how often that is checked. */
const QUIET_MS = 1000;
const QUIET_POLL_MS = 100;

/** The part of a started sim this needs: every cluster's current resourceVersion. */
interface VersionedSim {
  clusterNames(): string[];
  cluster(name: string): { resourceVersion: number };
}

/** The sum of every cluster's resourceVersion: it moves with every write to any of them. */
export function totalVersion(sim: VersionedSim): number {
  return sim.clusterNames().reduce((sum, name) => sum + sim.cluster(name).resourceVersion, 0);
}

/** Resolves once no cluster of `sim` has changed for QUIET_MS (its controllers are done with the seed). */
export async function untilQuiet(sim: VersionedSim): Promise<void> {
  let last = totalVersion(sim);
  let quietSince = performance.now();
  while (performance.now() - quietSince < QUIET_MS) {
    await sleep(QUIET_POLL_MS);
    const now = totalVersion(sim);
    if (now !== last) {
      last = now;
      quietSince = performance.now();
    }
  }
}
