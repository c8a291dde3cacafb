// High availability under chaos, on PostgreSQL and on MySQL/MariaDB, all real processes: three hub
// replicas and two agent replicas of the same account, the hubs reaching their database through a TCP
// proxy that can cut every connection. Each round churns the cluster, submits deploys round-robin to
// the live replicas, and in between does a seeded fault: kill -9 of a hub replica or of an agent replica
// (restarted afterwards), or a cut of every database connection. After each round: every operation has
// exactly one outcome, read the same at every replica; none ran twice in the cluster (the sim's audit of
// write requests: replace-strategy deploys, so a second run would show as a PUT or a refused POST); every
// successful deploy is in the cluster; and the cache equals the cluster object by object (every
// namespace: ConfigMaps, Namespaces, Deployments, ReplicaSets, Pods).
// The seed is printed; HA_CHAOS_SEED replays it, HA_CHAOS_ROUNDS runs longer.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../src/common/time.ts';
import { mysqlServer, postgresServer, type Server } from '../support/database-servers.ts';
import { engineSkip } from '../support/databases.ts';
import { openHubSql, type HubSql } from '../support/hub-sql.ts';
import { ReplicaSystem } from '../support/replica-system.ts';
import { CORE_KINDS, difference, simState } from '../support/convergence.ts';
import { configMapWrites, onceDeploy } from '../support/once-deploys.ts';
import { seededRandom } from '../support/seeded-random.ts';
import { simRequest, type SimAccess } from '../support/system.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

const SEED = Number(process.env.HA_CHAOS_SEED ?? Math.floor(Math.random() * 1_000_000));
const ROUNDS = Number(process.env.HA_CHAOS_ROUNDS ?? 3);
const ACCOUNT = 'cluster-1';
const NS_OPS = 'ha-ops';
const NS_CHURN = 'ha-churn';
const HUBS = ['hub-a', 'hub-b', 'hub-c'] as const;
/** Each agent replica dials one hub; hub-c has none, so everything submitted there is relayed. */
const AGENTS = { 'agent-1': 'hub-a', 'agent-2': 'hub-b' } as const;
/** Deploys submitted per round, half before the fault and half after it. */
const OPERATIONS_PER_ROUND = 8;
const CHURN_NAMES = 8;
const CHURN_INTERVAL_MS = 40;
/** A task's deadline here: an operation caught by a fault ends within it. */
const OPERATION_TIMEOUT_MS = 10_000;
const TASK_TIMEOUT_MS = 90_000;
const CONVERGENCE_TIMEOUT_MS = 60_000;
const START_TIMEOUT_MS = 60_000;
/** Failures a fault may cause; anything else is a bug. */
const CIRCUMSTANTIAL_CODES = new Set([
  'ACCOUNT_NOT_CONNECTED',
  'OPERATION_AGENT_GONE',
  'OPERATION_OUTCOME_UNKNOWN',
  'OPERATION_DEADLINE_EXCEEDED',
  'TASK_INTERRUPTED',
  'STORE_ERROR',
]);

type Agent = keyof typeof AGENTS;
type Fault = 'kill-hub' | 'kill-agent' | 'cut-database';
const FAULTS: Fault[] = ['kill-hub', 'kill-agent', 'cut-database'];
const ENGINE_TITLES = { postgres: 'PostgreSQL', mysql: 'MySQL/MariaDB' } as const;

interface Submitted {
  name: string;
  hub: string;
  /** Undefined when the replica refused the submission (STORE_ERROR while the database connections were cut). */
  taskId: string | undefined;
}

const AGENT_CONNECTED = 'agent connected with 1 account(s)';

for (const engine of ['postgres', 'mysql'] as const) {
  describe(`HA chaos on ${ENGINE_TITLES[engine]} (seed ${SEED}, ${ROUNDS} rounds) [${engine}]`, { timeout: 900_000, skip: engineSkip(engine) }, () => {
    const random = seededRandom(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    let server: Server;
    let url: string;
    let proxy: TcpProxy;
    let system: ReplicaSystem;
    let sql: HubSql;
    let sim: SimAccess;
    const submitted: Submitted[] = [];
    let sequence = 0;

    before(async () => {
      server = engine === 'postgres' ? await postgresServer() : await mysqlServer();
      url = await server.create();
      const target = new URL(url);
      proxy = await TcpProxy.start(target.hostname, Number(target.port || (engine === 'postgres' ? 5432 : 3306)));
      system = new ReplicaSystem({
        database: proxy.proxied(url),
        clusters: [ACCOUNT],
        hub: {
          hub: { heartbeatIntervalSeconds: 1, replicaDeadAfterSeconds: 3 },
          accounts: { cachingLeaseSeconds: 2 },
          operations: { timeoutMs: OPERATION_TIMEOUT_MS, taskStaleAfterMs: 5000 },
          grpc: { pingIntervalMs: 500 },
        },
      });
      await system.startSim();
      for (const hub of HUBS) await system.startHub(hub);
      for (const [agent, hub] of Object.entries(AGENTS)) await system.startAgent(agent, hub);
      for (const agent of Object.keys(AGENTS) as Agent[]) await connected(agent, 1);
      await waitFor(async () => (await system.caches('agent-1', ACCOUNT)) || (await system.caches('agent-2', ACCOUNT)), {
        timeoutMs: START_TIMEOUT_MS,
        what: 'an agent replica to cache the account',
      });
      sql = await openHubSql(url);
      sim = system.sim(ACCOUNT);
      for (const name of [NS_OPS, NS_CHURN]) {
        const created = await simRequest(sim, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
        assert.equal(created.status, 201, JSON.stringify(created.body));
      }
    });

    after(async () => {
      await sql?.close();
      await system?.stop();
      await proxy?.close();
      if (server) {
        await server.drop(url);
        await server.close();
      }
    });

    /** How many sessions of `agent` its hub has accepted (since that hub process started). */
    function sessions(agent: Agent): number {
      return system.logs(AGENTS[agent]).filter((l) => l.msg === AGENT_CONNECTED && l.agentId === agent).length;
    }

    /** Waits until `agent`'s hub has accepted at least `count` of its sessions. */
    async function connected(agent: Agent, count: number): Promise<void> {
      await waitFor(() => sessions(agent) >= count, { timeoutMs: START_TIMEOUT_MS, what: `${agent} to connect to ${AGENTS[agent]}` });
    }

    /** Background changes in the churn namespace until stopped: creates, updates and deletes. */
    function startChurn(): () => Promise<void> {
      let running = true;
      const loop = (async () => {
        let n = 0;
        while (running) {
          const name = `churn-${Math.floor(random() * CHURN_NAMES)}`;
          const path = `/api/v1/namespaces/${NS_CHURN}/configmaps`;
          const roll = random();
          if (roll < 0.2) await simRequest(sim, 'DELETE', `${path}/${name}`);
          else {
            const created = await simRequest(sim, 'POST', path, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { n: String(n) } });
            if (created.status === 409)
              await simRequest(sim, 'PUT', `${path}/${name}`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { n: String(n) } });
          }
          n++;
          await new Promise((resolve) => setTimeout(resolve, CHURN_INTERVAL_MS));
        }
      })();
      return async () => {
        running = false;
        await loop;
      };
    }

    /**
     * Submits deploys round-robin to the given hubs, concurrently. Right after a database cut a replica may
     * answer 500 STORE_ERROR (its pool still held a broken connection), as Clouddriver would: Orca submits
     * again. Such a deploy may still have run (its task written before the answer was lost), which the
     * at-most-once checks cover.
     */
    async function submitRound(hubs: readonly string[], count: number, databaseCut = false): Promise<Submitted[]> {
      const batch = Array.from({ length: count }, (_, i) => ({ name: `op-${++sequence}`, hub: hubs[i % hubs.length]! }));
      const answers = await Promise.all(
        batch.map((b) => system.rest(b.hub, '/kubernetes/ops', { method: 'POST', body: onceDeploy(ACCOUNT, NS_OPS, b.name, 'ha') })),
      );
      return batch.map((b, i) => {
        const answer = answers[i]!;
        if (databaseCut && answer.status === 500 && answer.body?.code === 'STORE_ERROR') return { ...b, taskId: undefined };
        assert.equal(answer.status, 200, `${b.name} at ${b.hub}: ${JSON.stringify(answer.body)}`);
        return { ...b, taskId: answer.body.id as string };
      });
    }

    async function completedTask(hub: string, taskId: string): Promise<any> {
      return waitFor(
        async () => {
          const r = await system.rest(hub, `/task/${taskId}`).catch(() => undefined);
          return r?.status === 200 && r.body?.status?.completed === true ? r.body : undefined;
        },
        { timeoutMs: TASK_TIMEOUT_MS, intervalMs: 100, what: `task ${taskId} at ${hub} to complete` },
      );
    }

    async function injectFault(fault: Fault, t: { diagnostic(message: string): void }): Promise<{ recover: () => Promise<void>; killedHub?: string }> {
      switch (fault) {
        case 'kill-hub': {
          const victim = pick(HUBS);
          t.diagnostic(`kill -9 ${victim}`);
          await system.stopHub(victim, 'SIGKILL');
          const recover = async () => {
            await system.startHub(victim);
            // Its agent (if it has one) reconnects to the new process, whose log starts afresh.
            for (const agent of Object.keys(AGENTS) as Agent[]) if (AGENTS[agent] === victim) await connected(agent, 1);
          };
          return { recover, killedHub: victim };
        }
        case 'kill-agent': {
          const victim = pick(Object.keys(AGENTS) as Agent[]);
          t.diagnostic(`kill -9 ${victim}`);
          const before = sessions(victim);
          await system.stopAgent(victim, 'SIGKILL');
          const recover = async () => {
            await system.startAgent(victim, AGENTS[victim]);
            await connected(victim, before + 1);
          };
          return { recover };
        }
        case 'cut-database':
          t.diagnostic(`cut ${proxy.cut()} database sockets`);
          return { recover: async () => {} };
      }
    }

    /** Waits until the cache holds exactly the cluster's objects of the compared kinds, in every namespace, at their resourceVersions. */
    async function cacheEqualsCluster(): Promise<void> {
      let problems: string[] = [];
      const wanted = new Set(CORE_KINDS.map((k) => `${k.group}/${k.kind}`));
      await waitFor(
        async () => {
          const atSim = await simState(sim, CORE_KINDS);
          const rows = await sql.query<{ api_group: string; kind: string; namespace: string; name: string; resource_version: string }>(
            'SELECT api_group, kind, namespace, name, resource_version FROM objects WHERE account = ?',
            [ACCOUNT],
          );
          const atHub = new Map(
            rows.filter((r) => wanted.has(`${r.api_group}/${r.kind}`)).map((r) => [`${r.api_group}/${r.kind}/${r.namespace}/${r.name}`, r.resource_version]),
          );
          problems = difference(atSim, atHub);
          return problems.length === 0;
        },
        { timeoutMs: CONVERGENCE_TIMEOUT_MS, intervalMs: 200, what: 'the cache to equal the cluster' },
      ).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}: ${problems.slice(0, 10).join('; ')} (${problems.length} in all)`);
      });
    }

    for (let round = 1; round <= ROUNDS; round++) {
      test(`round ${round}`, async (t) => {
        const stopChurn = startChurn();
        const fault = pick(FAULTS);
        const first = await submitRound(HUBS, OPERATIONS_PER_ROUND / 2);
        const { recover, killedHub } = await injectFault(fault, t);
        const second = await submitRound(
          HUBS.filter((h) => h !== killedHub),
          OPERATIONS_PER_ROUND / 2,
          fault === 'cut-database',
        );
        await recover();
        const round = [...first, ...second];
        submitted.push(...round);

        // One outcome per operation, read the same at every replica.
        const outcomes = new Map<string, { failed: boolean; code: string }>();
        for (const op of round) {
          if (op.taskId === undefined) {
            outcomes.set(op.name, { failed: true, code: 'REFUSED_AT_SUBMISSION' });
            continue;
          }
          const task = await completedTask(op.hub, op.taskId);
          const exception = (task.resultObjects as any[]).find((r) => r?.type === 'EXCEPTION');
          if (task.status.failed) {
            assert.ok(
              CIRCUMSTANTIAL_CODES.has(exception?.details?.code),
              `${op.name} failed for no fault of the round: ${JSON.stringify(exception ?? task.history)}`,
            );
          }
          outcomes.set(op.name, { failed: task.status.failed, code: `${exception?.details?.code}: ${exception?.message}` });
          for (const hub of HUBS) {
            const seen = await completedTask(hub, op.taskId);
            assert.equal(seen.status.failed, task.status.failed, `${op.name}'s task at ${hub}`);
          }
        }
        await stopChurn();
        const failures = [...outcomes].filter(([, o]) => o.failed);
        t.diagnostic(
          `fault ${fault}: ${round.length - failures.length} succeeded, ${failures.length} failed${failures.map(([n, o]) => `\n  ${n} ${o.code}`).join('')}`,
        );

        // At most once in the cluster, and every success is there.
        const { creates, repeats } = configMapWrites(await system.simWrites(ACCOUNT), NS_OPS);
        assert.deepEqual(repeats, [], 'a deploy ran twice: a replace (PUT) or a refused create in the audit');
        const list = await simRequest(sim, 'GET', `/api/v1/namespaces/${NS_OPS}/configmaps`);
        const present = new Set((list.body.items as any[]).map((o) => o.metadata.name as string));
        assert.equal(creates.length, present.size, 'one create per ConfigMap present');
        for (const op of submitted)
          if (outcomes.get(op.name)?.failed === false) assert.ok(present.has(op.name), `${op.name} succeeded but is not in the cluster`);

        await cacheEqualsCluster();
      });
    }
  });
}
