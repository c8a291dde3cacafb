/**
 * `npm run bench -- ha`: several hub replicas on one PostgreSQL (or MySQL/MariaDB) database, all real
 * processes (test/support/replica-system.ts: a sim, the hubs, two agent replicas of every account).
 *
 * Throughput: deploys (`POST /kubernetes/ops` until `GET /task/{id}` says completed) submitted
 * round-robin to every replica, with 1 hub and with 3 hubs, same run; operations per second, p50/p99
 * round trip, CPU-seconds of every process per operation; lost (failed) and duplicated operations
 * (the sim's audit of write requests: replace-strategy deploys, so a second run shows as a PUT or a
 * refused POST).
 *
 * Failover: with 3 hubs, `kill -9` of the replica whose session caches an account, and separately of
 * the agent replica that caches it, repeated; from the kill to the first change made after it being in
 * the database (caching resumed at another replica, the gap's changes delivered). See
 * docs/performance.md ("ha").
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { waitFor } from '../src/common/time.ts';
import { openHubSql, type HubSql } from '../test/support/hub-sql.ts';
import { configMapWrites, onceDeploy } from '../test/support/once-deploys.ts';
import { ReplicaSystem } from '../test/support/replica-system.ts';
import { simRequest } from '../test/support/system.ts';
import { positiveInt } from './support/cli-args.ts';
import { cpuMs } from './support/cpu.ts';
import { openBenchDatabase, type DatabaseEngine } from './support/hub-database.ts';
import { environment, formatRatio, renderMarkdown, renderText, writeResults, type Table } from './support/report.ts';

interface HaFlags {
  database: Exclude<DatabaseEngine, 'sqlite'>;
  clusters: number;
  operations: number;
  concurrency: number;
  kills: number;
  leaseSeconds: number;
  pollMs: number;
  out: string;
}

const NAMESPACE = 'ha-bench';
const START_TIMEOUT_MS = 120_000;
const OPERATION_TIMEOUT_MS = 60_000;
/** From a kill until the gap's change must be in the database; longer counts as a failed failover. */
const FAILOVER_TIMEOUT_MS = 60_000;
/** Untimed deploys before a measured phase (connections, JIT). */
const WARMUP_OPERATIONS = 20;
/** The hub's log line for an accepted agent session ("agent connected with N account(s)"). */
const AGENT_CONNECTED = /^agent connected with \d+ account/;

type Json = any;

function leaseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of seconds, at least 1');
  return n;
}

export function registerHaBenchmark(program: Command): void {
  program
    .command('ha')
    .description(
      'Hub replicas on one database: deploys per second with 1 vs 3 hubs (lost and duplicated counted), and failover time after kill -9 of the caching hub or agent',
    )
    .addOption(new Option('--database <engine>', 'the shared database').choices(['postgres', 'mysql']).default('postgres'))
    .option('--clusters <n>', 'sim clusters, each an account both agent replicas serve', positiveInt, 4)
    .option('--operations <n>', 'deploys measured per configuration', positiveInt, 400)
    .option('--concurrency <n>', 'deploys in flight', positiveInt, 32)
    .option('--kills <n>', 'kills of each kind (caching hub, caching agent) in the failover phase', positiveInt, 20)
    .option('--lease-seconds <s>', 'accounts.cachingLeaseSeconds of the hubs (bounds failover after a hub dies)', leaseSeconds, 3)
    .option('--poll-ms <ms>', 'pause between two GET /task/{id} of one deploy', positiveInt, 20)
    .option('--out <dir>', 'directory for ha.json and ha.md', 'bench/results')
    .action(async (flags: HaFlags) => {
      await runHaBenchmark(flags);
    });
}

interface Summary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
  return { count: sorted.length, p50: at(50), p99: at(99), max: sorted.at(-1) ?? NaN };
}

/** A system of `hubs` replicas and two agent replicas (agent-1 at the first hub, agent-2 at the second, or the first when alone). */
async function startSystem(
  flags: HaFlags,
  databaseUrl: string,
  hubs: number,
): Promise<{ system: ReplicaSystem; hubNames: string[]; agentHub: Record<string, string> }> {
  const clusters = Array.from({ length: flags.clusters }, (_, i) => `cluster-${i + 1}`);
  const system = new ReplicaSystem({
    database: databaseUrl,
    clusters,
    echo: false,
    hub: {
      hub: { heartbeatIntervalSeconds: 1, replicaDeadAfterSeconds: 3 },
      accounts: { cachingLeaseSeconds: flags.leaseSeconds },
    },
  });
  const hubNames = Array.from({ length: hubs }, (_, i) => `hub-${i + 1}`);
  const agentHub = { 'agent-1': hubNames[0]!, 'agent-2': hubNames[Math.min(1, hubs - 1)]! };
  await system.startSim();
  for (const hub of hubNames) await system.startHub(hub);
  for (const [agent, hub] of Object.entries(agentHub)) await system.startAgent(agent, hub);
  for (const [agent, hub] of Object.entries(agentHub)) {
    await waitFor(() => system.logs(hub).some((l) => AGENT_CONNECTED.test(String(l.msg)) && l.agentId === agent), {
      timeoutMs: START_TIMEOUT_MS,
      what: `${agent} to connect`,
    });
  }
  for (const cluster of clusters) {
    await waitFor(async () => (await system.caches('agent-1', cluster)) || (await system.caches('agent-2', cluster)), {
      timeoutMs: START_TIMEOUT_MS,
      what: `${cluster} to be cached`,
    });
    const created = await simRequest(system.sim(cluster), 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
    if (created.status !== 201) throw new Error(`namespace in ${cluster}: ${created.status}`);
  }
  return { system, hubNames, agentHub };
}

function totalCpuMs(system: ReplicaSystem, parts: string[]): number {
  return parts.reduce((sum, part) => {
    const pid = system.pid(part);
    const ms = pid === undefined ? NaN : cpuMs(pid);
    return sum + (Number.isFinite(ms) ? ms : 0);
  }, 0);
}

interface ThroughputResult {
  hubs: number;
  operations: number;
  succeeded: number;
  failed: number;
  failures: string[];
  duplicated: number;
  wallSeconds: number;
  opsPerSecond: number;
  roundTripMs: Summary;
  cpuSeconds: number;
  cpuMsPerOperation: number;
}

async function deploy(system: ReplicaSystem, hub: string, account: string, name: string, pollMs: number): Promise<{ ms: number; failure?: string }> {
  const started = performance.now();
  const posted = await system.rest(hub, '/kubernetes/ops', { method: 'POST', body: onceDeploy(account, NAMESPACE, name, 'habench') });
  if (posted.status !== 200) return { ms: performance.now() - started, failure: `POST ${posted.status}: ${JSON.stringify(posted.body).slice(0, 200)}` };
  for (;;) {
    const task = await system.rest(hub, `/task/${posted.body.id}`);
    if (task.body?.status?.completed === true) {
      const ms = performance.now() - started;
      if (!task.body.status.failed) return { ms };
      const exception = (task.body.resultObjects as Json[]).find((r) => r?.type === 'EXCEPTION');
      return { ms, failure: `${exception?.details?.code}: ${exception?.message}` };
    }
    if (performance.now() - started > OPERATION_TIMEOUT_MS) return { ms: performance.now() - started, failure: 'no outcome in time' };
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

async function measureThroughput(flags: HaFlags, hubs: number): Promise<ThroughputResult> {
  const database = await openBenchDatabase(flags.database, '/tmp');
  const { system, hubNames, agentHub } = await startSystem(flags, database.url, hubs);
  try {
    const accounts = Array.from({ length: flags.clusters }, (_, i) => `cluster-${i + 1}`);
    let sequence = 0;
    const run = async (count: number, prefix: string) => {
      const results: Array<{ ms: number; failure?: string }> = [];
      let next = 0;
      const worker = async () => {
        for (;;) {
          const i = next++;
          if (i >= count) return;
          const n = sequence++;
          results[i] = await deploy(system, hubNames[n % hubNames.length]!, accounts[n % accounts.length]!, `${prefix}-${n}`, flags.pollMs);
        }
      };
      await Promise.all(Array.from({ length: Math.min(flags.concurrency, count) }, worker));
      return results;
    };
    await run(WARMUP_OPERATIONS, 'warm');
    const parts = ['sim', ...hubNames, ...Object.keys(agentHub)];
    const cpuBefore = totalCpuMs(system, parts);
    const started = performance.now();
    const results = await run(flags.operations, 'op');
    const wallMs = performance.now() - started;
    const cpuSeconds = (totalCpuMs(system, parts) - cpuBefore) / 1000;
    const failures = results.filter((r) => r.failure !== undefined).map((r) => r.failure!);
    let duplicated = 0;
    for (const account of accounts) {
      duplicated += configMapWrites(await system.simWrites(account), NAMESPACE).repeats.length;
    }
    const succeeded = results.length - failures.length;
    return {
      hubs,
      operations: results.length,
      succeeded,
      failed: failures.length,
      failures: [...new Set(failures)].slice(0, 10),
      duplicated,
      wallSeconds: wallMs / 1000,
      opsPerSecond: succeeded / (wallMs / 1000),
      roundTripMs: summarize(results.filter((r) => r.failure === undefined).map((r) => r.ms)),
      cpuSeconds,
      cpuMsPerOperation: (cpuSeconds * 1000) / Math.max(1, results.length),
    };
  } finally {
    await system.stop();
    await database.cleanup();
  }
}

interface FailoverResult {
  kind: 'hub' | 'agent';
  kills: number;
  resumedMs: Summary;
  failed: number;
}

/** Waits until the ConfigMap `name` of `account` is in the database; returns the ms since `since`. */
async function visibleAfter(sql: HubSql, account: string, name: string, since: number): Promise<number> {
  await waitFor(
    async () =>
      (await sql.query('SELECT name FROM objects WHERE account = ? AND kind = ? AND namespace = ? AND name = ?', [account, 'ConfigMap', NAMESPACE, name]))
        .length === 1,
    { timeoutMs: FAILOVER_TIMEOUT_MS, intervalMs: 20, what: `${name} to reach the database` },
  );
  return performance.now() - since;
}

async function measureFailover(flags: HaFlags): Promise<FailoverResult[]> {
  const database = await openBenchDatabase(flags.database, '/tmp');
  const { system, agentHub } = await startSystem(flags, database.url, 3);
  const sql = await openHubSql(database.url);
  const account = 'cluster-1';
  const sim = system.sim(account);
  let gap = 0;
  try {
    const results: FailoverResult[] = [];
    for (const kind of ['hub', 'agent'] as const) {
      const times: number[] = [];
      let failed = 0;
      for (let i = 0; i < flags.kills; i++) {
        const [holder] = await sql.query<{ hub_id: string; agent_id: string }>(
          'SELECT hub_id, agent_id FROM caching_assignments WHERE account = ? AND lease_expires_at > 0',
          [account],
        );
        if (holder === undefined) throw new Error('the account has no caching assignment');
        const victim = kind === 'hub' ? holder.hub_id : holder.agent_id;
        const reconnecting = Object.entries(agentHub).filter(([agent, hub]) => (kind === 'hub' ? hub === victim : agent === victim));
        const sessionsBefore = new Map(reconnecting.map(([agent, hub]) => [agent, kind === 'hub' ? 0 : sessions(system, hub, agent)]));
        const killedAt = performance.now();
        if (kind === 'hub') await system.stopHub(victim, 'SIGKILL');
        else await system.stopAgent(victim, 'SIGKILL');
        const name = `gap-${kind}-${++gap}`;
        const created = await simRequest(sim, 'POST', `/api/v1/namespaces/${NAMESPACE}/configmaps`, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name },
        });
        if (created.status !== 201) throw new Error(`gap change: ${created.status}`);
        try {
          times.push(await visibleAfter(sql, account, name, killedAt));
        } catch {
          failed++;
        }
        // Back to full strength before the next kill: the process restarted and its agent(s) reconnected.
        if (kind === 'hub') await system.startHub(victim);
        else await system.startAgent(victim, agentHub[victim as keyof typeof agentHub]!);
        for (const [agent, hub] of reconnecting) {
          await waitFor(() => sessions(system, hub, agent) > sessionsBefore.get(agent)!, { timeoutMs: START_TIMEOUT_MS, what: `${agent} to reconnect` });
        }
      }
      results.push({ kind, kills: flags.kills, resumedMs: summarize(times), failed });
    }
    return results;
  } finally {
    await sql.close();
    await system.stop();
    await database.cleanup();
  }
}

function sessions(system: ReplicaSystem, hub: string, agent: string): number {
  return system.logs(hub).filter((l) => AGENT_CONNECTED.test(String(l.msg)) && l.agentId === agent).length;
}

async function runHaBenchmark(flags: HaFlags): Promise<void> {
  const one = await measureThroughput(flags, 1);
  const three = await measureThroughput(flags, 3);
  const failover = await measureFailover(flags);
  const ratio = three.opsPerSecond / one.opsPerSecond;

  const f = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
  const throughput: Table = {
    title: `ha: deploys through 1 vs 3 hub replicas on ${flags.database} (${flags.operations} deploys, ${flags.concurrency} in flight, ${flags.clusters} accounts, 2 agent replicas)`,
    header: ['hubs', 'ops/s', 'p50 ms', 'p99 ms', 'failed', 'duplicated', 'CPU-s', 'CPU-ms/op'],
    rows: [one, three].map((r) => [
      String(r.hubs),
      f(r.opsPerSecond, 1),
      f(r.roundTripMs.p50),
      f(r.roundTripMs.p99),
      String(r.failed),
      String(r.duplicated),
      f(r.cpuSeconds, 1),
      f(r.cpuMsPerOperation, 1),
    ]),
    notes: [
      `3 hubs / 1 hub: ${formatRatio(ratio)} the operations per second (same run, same machine: every process shares its cores)`,
      'CPU-s: every process of the system (sim, hubs, agents) during the measured deploys; the database server is not counted',
      ...[one, three].flatMap((r) => r.failures.map((failure) => `${r.hubs} hub(s) failure: ${failure}`)),
    ],
  };
  const failoverTable: Table = {
    title: `ha: failover after kill -9, 3 hubs (accounts.cachingLeaseSeconds ${flags.leaseSeconds}), until the first change after the kill is in the database`,
    header: ['killed', 'kills', 'p50 ms', 'p99 ms', 'max ms', 'failed'],
    rows: failover.map((r) => [`caching ${r.kind}`, String(r.kills), f(r.resumedMs.p50), f(r.resumedMs.p99), f(r.resumedMs.max), String(r.failed)]),
    notes: [
      'hub: the replica holding the caching assignment dies; a standby session at another replica takes over once the lease runs out (≤ lease + a third of it)',
      'agent: the caching agent replica dies; its hub sees the session end, releases the lease, and the standby agent takes over at its next takeover pass',
    ],
  };
  const text = [renderText(throughput), '', renderText(failoverTable)].join('\n');
  console.log(text);
  const result = { benchmark: 'ha', flags, environment: environment(), throughput: [one, three], ratio, failover };
  const written = writeResults(flags.out, 'ha', result, [renderMarkdown(throughput), '', renderMarkdown(failoverTable)].join('\n'));
  console.log(`\nwrote ${written.json} and ${written.markdown}`);
}
