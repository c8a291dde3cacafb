// A hub that dies with its agent: nobody is left to mark the agent's account disconnected. The hub
// started again without the agent (under the same hub id, or a new one once the dead replica's row
// counts as dead) must find the account still marked connected through a former run or a dead replica,
// mark it disconnected, and remove it with its cache once the grace period passes. Real processes: a
// sim, the hub and the agent, both killed with SIGKILL so that neither says goodbye.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../src/common/time.ts';
import { postgresServer, type Server } from '../support/database-servers.ts';
import { engineSkip } from '../support/databases.ts';
import { openHubSql, type HubSql } from '../support/hub-sql.ts';
import { ReplicaSystem } from '../support/replica-system.ts';

const ACCOUNT = 'cluster-1';
const HEARTBEAT_SECONDS = 1;
const DEAD_AFTER_SECONDS = 2;
const LEASE_SECONDS = 2;
/** Short, so that the removal is seen within the test; the sweep runs at least this often. */
const GRACE_SECONDS = 2;
/** From the hub's new start to the account's removal: a few sweeps, on two loaded cores. */
const SWEEP_BOUND_MS = 30_000;
const CACHE_TIMEOUT_MS = 60_000;

interface Scenario {
  title: string;
  engine: 'sqlite' | 'postgres';
  /** The id the hub starts with again: its own (a restart) or another (a replacement). */
  restartAs: string;
}

/** Each path once: a former run of the same id (SQLite), and a dead replica replaced by a new id (PostgreSQL). */
const SCENARIOS: Scenario[] = [
  { title: 'restarted under the same hub id [sqlite]', engine: 'sqlite', restartAs: 'hub-a' },
  { title: 'replaced by a hub with a new id [postgres]', engine: 'postgres', restartAs: 'hub-b' },
];

for (const scenario of SCENARIOS) {
  describe(`a hub killed with its agent, ${scenario.title}`, { timeout: 240_000, skip: engineSkip(scenario.engine) }, () => {
    let server: Server | undefined;
    let sqliteDir: string | undefined;
    let url = '';
    let system: ReplicaSystem;
    let sql: HubSql;

    before(async () => {
      if (scenario.engine === 'postgres') {
        server = await postgresServer();
        url = await server.create();
      } else {
        sqliteDir = mkdtempSync(join(tmpdir(), 'scale-agent-lifetime-'));
        url = `sqlite:${join(sqliteDir, 'hub.db')}`;
      }
      system = new ReplicaSystem({
        database: url,
        clusters: [ACCOUNT],
        hub: {
          hub: { heartbeatIntervalSeconds: HEARTBEAT_SECONDS, replicaDeadAfterSeconds: DEAD_AFTER_SECONDS },
          accounts: { cachingLeaseSeconds: LEASE_SECONDS, gracePeriodSeconds: GRACE_SECONDS },
        },
      });
    });

    after(async () => {
      await sql?.close();
      await system?.stop();
      if (server) {
        await server.drop(url);
        await server.close();
      }
      if (sqliteDir !== undefined) rmSync(sqliteDir, { recursive: true, force: true });
    });

    async function accountRow(): Promise<{ status: string; hub_id: string | null } | undefined> {
      const [row] = await sql.query<{ status: string; hub_id: string | null }>('SELECT status, hub_id FROM accounts WHERE name = ?', [ACCOUNT]);
      return row;
    }

    async function cachedObjects(): Promise<number> {
      const [row] = await sql.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM objects WHERE account = ?', [ACCOUNT]);
      return Number(row?.n ?? 0);
    }

    test('the account turns disconnected, then goes with its cache after the grace period', async () => {
      await system.startSim();
      await system.startHub('hub-a');
      await system.startAgent('agent-1', 'hub-a');
      await waitFor(() => system.caches('agent-1', ACCOUNT), { timeoutMs: CACHE_TIMEOUT_MS, what: 'the agent to cache the account' });
      sql = await openHubSql(url);
      await waitFor(async () => (await cachedObjects()) > 0, { timeoutMs: CACHE_TIMEOUT_MS, what: 'the cluster to reach the cache' });

      // The hub first, so that it never sees the session end; then the agent, while no hub runs.
      await system.stopHub('hub-a', 'SIGKILL');
      await system.stopAgent('agent-1', 'SIGKILL');
      assert.deepEqual(await accountRow(), { status: 'connected', hub_id: 'hub-a' }, 'nobody was left to mark the account disconnected');

      if (scenario.restartAs !== 'hub-a' && scenario.engine === 'sqlite') {
        // SQLite serves one hub: another id starts only once the killed replica's row counts as dead.
        await waitFor(
          async () => {
            const [row] = await sql.query<{ heartbeat_at: number | string }>('SELECT heartbeat_at FROM hub_replicas WHERE hub_id = ?', ['hub-a']);
            return row === undefined || Date.now() - Number(row.heartbeat_at) > DEAD_AFTER_SECONDS * 1000;
          },
          { timeoutMs: DEAD_AFTER_SECONDS * 1000 * 10, intervalMs: 100, what: 'the killed replica to count as dead' },
        );
      }
      await system.startHub(scenario.restartAs);
      await waitFor(async () => (await accountRow())?.status === 'disconnected', {
        timeoutMs: SWEEP_BOUND_MS,
        what: 'the account to be marked disconnected',
      });
      const credentials = await system.rest(scenario.restartAs, '/credentials');
      const listed = (credentials.body as Array<{ name: string }>).find((a) => a.name === ACCOUNT);
      assert.ok(listed === undefined || (listed as { agent?: { status?: string } }).agent?.status !== 'connected', JSON.stringify(listed));

      await waitFor(async () => (await accountRow()) === undefined, { timeoutMs: SWEEP_BOUND_MS, what: 'the account to be removed' });
      assert.equal(await cachedObjects(), 0, 'its cache went with it');
      const after = await system.rest(scenario.restartAs, '/credentials');
      assert.deepEqual(
        (after.body as Array<{ name: string }>).map((a) => a.name),
        [],
      );
      const removed = system.logs(scenario.restartAs).find((l) => l.msg === 'removed an account whose agent did not come back within the grace period');
      assert.equal(removed?.account, ACCOUNT);
    });
  });
}
