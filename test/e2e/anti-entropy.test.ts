// Anti-entropy end to end, on every SQL engine: the hub's copy of a cluster is changed behind its back
// (a row deleted, a stored resourceVersion changed, a phantom row added, directly in its database), and
// a batch is committed without one of its changes reaching the rows (a trigger swallows the insert);
// the agent's next digest (every 2 s here) shows the difference, the affected feed is relisted and the
// hub equals the cluster again, while feeds that were not touched are not relisted. Divergence shows in
// the agent's /watches and in both processes' metrics.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../src/common/time.ts';
import { mysqlServer, postgresServer, type Server } from '../support/database-servers.ts';
import { engineSkip, ENGINES } from '../support/databases.ts';
import { openHubSql, type HubSql } from '../support/hub-sql.ts';
import { TestSystem, simRequest, type SimAccess } from '../support/system.ts';
import { metricSum } from '../support/prometheus-text.ts';

const ACCOUNT = 'cluster-1';
const NS = 'entropy';
const DIGEST_INTERVAL_SECONDS = 2;
/** Detection (one interval) plus a relist and its batches, on two shared cores. */
const HEAL_TIMEOUT_MS = 45_000;

type Json = any;

async function simObjects(sim: SimAccess, path: string): Promise<Map<string, string>> {
  const list = await simRequest(sim, 'GET', path);
  assert.equal(list.status, 200);
  return new Map((list.body.items as Json[]).map((o) => [o.metadata.name as string, o.metadata.resourceVersion as string]));
}

async function hubObjects(sql: HubSql, kind: string): Promise<Map<string, string>> {
  const rows = await sql.query<{ name: string; resource_version: string }>(
    'SELECT name, resource_version FROM objects WHERE account = ? AND kind = ? AND namespace = ?',
    [ACCOUNT, kind, NS],
  );
  return new Map(rows.map((r) => [r.name, r.resource_version]));
}

function sameMap(a: Map<string, string>, b: Map<string, string>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

/**
 * A trigger that makes the hub's insert of ConfigMap `name` vanish while the rest of its batch, the
 * feed's resume point included, commits: what a lost write inside a committed transaction looks like.
 */
const LOSE_INSERT: Record<string, { create: string[]; drop: string[] }> = {
  sqlite: {
    create: [`CREATE TRIGGER lose_insert BEFORE INSERT ON objects WHEN NEW.name = 'cm-lost' BEGIN SELECT RAISE(IGNORE); END`],
    drop: ['DROP TRIGGER lose_insert'],
  },
  postgres: {
    create: [
      `CREATE FUNCTION lose_insert() RETURNS trigger AS $$ BEGIN IF NEW.name = 'cm-lost' THEN RETURN NULL; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`,
      'CREATE TRIGGER lose_insert BEFORE INSERT ON objects FOR EACH ROW EXECUTE FUNCTION lose_insert()',
    ],
    drop: ['DROP TRIGGER lose_insert ON objects', 'DROP FUNCTION lose_insert()'],
  },
  // A MySQL trigger cannot skip a row; it moves it to an account no one reads.
  mysql: {
    create: [
      `CREATE TRIGGER lose_insert BEFORE INSERT ON objects FOR EACH ROW SET NEW.account = IF(NEW.name = 'cm-lost', CONCAT('lost:', NEW.account), NEW.account)`,
    ],
    drop: ['DROP TRIGGER lose_insert'],
  },
};

for (const engine of ENGINES) {
  describe(`anti-entropy heals a hub cache changed behind its back [${engine}]`, { timeout: 240_000, skip: engineSkip(engine) }, () => {
    let server: Server | undefined;
    let url: string;
    let system: TestSystem;
    let sql: HubSql;
    let sim: SimAccess;

    before(async () => {
      if (engine !== 'sqlite') {
        server = engine === 'postgres' ? await postgresServer() : await mysqlServer();
        url = await server.create();
      }
      system = await new TestSystem({
        clusters: 1,
        agent: { clouddriver: { digestIntervalSeconds: DIGEST_INTERVAL_SECONDS } },
        ...(server ? { database: url } : {}),
      }).start();
      if (!server) url = `sqlite:${system.dbPath}`;
      sql = await openHubSql(url);
      sim = system.sim(ACCOUNT);
    });

    after(async () => {
      await sql?.close();
      await system?.stop();
      if (server) {
        await server.drop(url);
        await server.close();
      }
    });

    test('a deleted row, a changed resourceVersion and a phantom row are detected and healed; untouched feeds are not relisted', async () => {
      assert.equal((await simRequest(sim, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } })).status, 201);
      for (let i = 1; i <= 3; i++) {
        const created = await simRequest(sim, 'POST', `/api/v1/namespaces/${NS}/configmaps`, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `cm-${i}` },
          data: { i: String(i) },
        });
        assert.equal(created.status, 201);
      }
      const configMapsPath = `/api/v1/namespaces/${NS}/configmaps`;
      const servicesPath = `/api/v1/namespaces/${NS}/services`;
      for (const name of ['svc-1', 'svc-2']) {
        const created = await simRequest(sim, 'POST', servicesPath, { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ port: 80 }] } });
        assert.equal(created.status, 201);
      }
      await waitFor(
        async () =>
          sameMap(await hubObjects(sql, 'ConfigMap'), await simObjects(sim, configMapsPath)) &&
          sameMap(await hubObjects(sql, 'Service'), await simObjects(sim, servicesPath)),
        {
          timeoutMs: HEAL_TIMEOUT_MS,
          what: 'the hub to hold the ConfigMaps and Services',
        },
      );
      const relistsBefore = new Map(((await system.agentAdmin('/watches')).body as Json[]).map((w) => [w.kind, w.relists as number]));

      // Behind the hub's back: one ConfigMap gone, one with a stale version, one that never existed.
      await sql.query('DELETE FROM objects WHERE account = ? AND kind = ? AND namespace = ? AND name = ?', [ACCOUNT, 'ConfigMap', NS, 'cm-1']);
      await sql.query('UPDATE objects SET resource_version = ? WHERE account = ? AND kind = ? AND namespace = ? AND name = ?', [
        '1',
        ACCOUNT,
        'ConfigMap',
        NS,
        'cm-2',
      ]);
      const [template] = await sql.query<Record<string, unknown>>('SELECT * FROM objects WHERE account = ? AND kind = ? AND namespace = ? AND name = ?', [
        ACCOUNT,
        'Service',
        NS,
        'svc-1',
      ]);
      const phantom: Record<string, unknown> = { ...template!, name: 'phantom', uid: 'uid-phantom' };
      const columns = Object.keys(phantom);
      await sql.query(
        `INSERT INTO objects (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
        columns.map((c) => phantom[c]),
      );

      await waitFor(
        async () =>
          sameMap(await hubObjects(sql, 'ConfigMap'), await simObjects(sim, configMapsPath)) &&
          sameMap(await hubObjects(sql, 'Service'), await simObjects(sim, servicesPath)),
        {
          timeoutMs: HEAL_TIMEOUT_MS,
          what: 'the hub to equal the cluster again',
        },
      );

      const watches = (await system.agentAdmin('/watches')).body as Json[];
      const byKind = new Map(watches.map((w) => [w.kind, w]));
      for (const kind of ['ConfigMap', 'Service']) {
        const w = byKind.get(kind);
        assert.ok(w.digest.divergences >= 1, `${kind}: ${JSON.stringify(w.digest)}`);
        assert.ok(w.relists > relistsBefore.get(kind)!, `${kind} was relisted`);
      }
      for (const kind of ['Namespace', 'Secret', 'Deployment']) {
        const w = byKind.get(kind);
        if (w === undefined) continue;
        assert.equal(w.digest.divergences, 0, `${kind} had no divergence`);
        assert.equal(w.relists, relistsBefore.get(kind), `${kind} was not relisted`);
      }
      await waitFor(
        async () =>
          ((await system.agentAdmin('/watches')).body as Json[])
            .filter((w) => w.kind === 'ConfigMap' || w.kind === 'Service')
            .every((w) => w.digest.divergedSince === undefined),
        {
          timeoutMs: HEAL_TIMEOUT_MS,
          what: 'a matching digest after the resync',
        },
      );
      const agentMetrics = (await system.agentAdmin('/metrics')).body as string;
      assert.ok(metricSum(agentMetrics, 'scale_agent_cache_divergence_total', 'kind="ConfigMap"') >= 1);
      const hubMetrics = (await system.rest('/metrics')).body as string;
      assert.ok(
        metricSum(hubMetrics, 'scale_agent_hub_cache_divergence_total', 'kind="Service"') >= 1,
        hubMetrics
          .split('\n')
          .filter((l) => l.includes('divergence'))
          .join('\n'),
      );
      assert.equal((await system.agentAdmin('/health')).status, 200);
      // Every replica's account view says so, from the feeds' rows.
      const view = await waitFor(
        async () => {
          const body = (await system.rest(`/credentials/${ACCOUNT}`)).body as Json;
          return body.cache?.status === 'matching' ? body.cache : undefined;
        },
        { timeoutMs: HEAL_TIMEOUT_MS, what: 'the account view to show the cache matching again' },
      );
      assert.ok(view.divergences >= 2, JSON.stringify(view));
      assert.deepEqual(view.diverged, []);
      assert.ok(view.lastCheckedAt > 0);
    });

    test('a committed batch whose change never reached the rows is detected and healed; untouched feeds are not relisted', async () => {
      const configMapsPath = `/api/v1/namespaces/${NS}/configmaps`;
      const watches = async () => new Map(((await system.agentAdmin('/watches')).body as Json[]).map((w) => [w.kind as string, w]));
      const before = await watches();
      for (const statement of LOSE_INSERT[engine]!.create) await sql.query(statement);
      assert.equal(
        (await simRequest(sim, 'POST', configMapsPath, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm-lost' }, data: { lost: 'yes' } })).status,
        201,
      );
      assert.equal(
        (await simRequest(sim, 'POST', configMapsPath, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm-after' }, data: { after: 'yes' } })).status,
        201,
      );
      // Batches commit in order: once the later ConfigMap is in, the batch that carried the lost one committed too.
      await waitFor(async () => (await hubObjects(sql, 'ConfigMap')).has('cm-after'), { timeoutMs: HEAL_TIMEOUT_MS, what: 'the hub to commit the ConfigMaps' });
      assert.equal((await hubObjects(sql, 'ConfigMap')).has('cm-lost'), false, 'the trigger swallowed the insert');
      const resumeRows = await sql.query<{ resume_rv: string }>('SELECT resume_rv FROM feeds WHERE account = ? AND kind = ?', [ACCOUNT, 'ConfigMap']);
      assert.ok(resumeRows.length > 0 && resumeRows.every((r) => r.resume_rv !== ''), "the feed's resume point was committed");
      for (const statement of LOSE_INSERT[engine]!.drop) await sql.query(statement);

      await waitFor(async () => sameMap(await hubObjects(sql, 'ConfigMap'), await simObjects(sim, configMapsPath)), {
        timeoutMs: HEAL_TIMEOUT_MS,
        what: 'the hub to hold the lost ConfigMap again',
      });
      const after = await watches();
      const configMaps = after.get('ConfigMap');
      assert.ok(configMaps.digest.divergences > before.get('ConfigMap').digest.divergences, JSON.stringify(configMaps.digest));
      assert.ok(configMaps.relists > before.get('ConfigMap').relists, 'ConfigMap was relisted');
      for (const kind of ['Service', 'Namespace', 'Secret', 'Deployment']) {
        const w = after.get(kind);
        if (w === undefined) continue;
        assert.equal(w.relists, before.get(kind).relists, `${kind} was not relisted`);
        assert.equal(w.digest.divergences, before.get(kind).digest.divergences, `${kind} had no new divergence`);
      }
    });
  });
}

// After an agent restart its feeds resume their watches from the hub's points, knowing only what changes
// from then on; a quiet verification list completes each feed's record without sending it, so the
// digest compared right after the reconnect covers every object: a row lost while the agent was away is
// found without waiting for the periodic digest (set far off here) and healed, and nothing else is re-sent.
describe('anti-entropy after an agent restart', { timeout: 240_000 }, () => {
  let system: TestSystem;
  let sql: HubSql;
  let sim: SimAccess;

  before(async () => {
    // Sample applications: a few hundred objects, so re-sending them would show.
    system = await new TestSystem({ clusters: 1, simArgs: ['--sample-apps', '25'], agent: { clouddriver: { digestIntervalSeconds: 3600 } } }).start();
    sql = await openHubSql(`sqlite:${system.dbPath}`);
    sim = system.sim(ACCOUNT);
  });

  after(async () => {
    await sql?.close();
    await system?.stop();
  });

  test('resumed feeds are verified by a quiet list and compared at once; a row lost meanwhile is healed; nothing else is re-sent', async () => {
    const configMapsPath = `/api/v1/namespaces/${NS}/configmaps`;
    assert.equal((await simRequest(sim, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } })).status, 201);
    for (let i = 1; i <= 3; i++) {
      assert.equal(
        (await simRequest(sim, 'POST', configMapsPath, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` }, data: { i: String(i) } })).status,
        201,
      );
    }
    await waitFor(async () => sameMap(await hubObjects(sql, 'ConfigMap'), await simObjects(sim, configMapsPath)), {
      timeoutMs: HEAL_TIMEOUT_MS,
      what: 'the hub to hold the ConfigMaps',
    });
    // Let the first agent finish its own post-connect comparisons, so the rows are settled.
    await waitFor(
      async () => ((await system.agentAdmin('/watches')).body as Json[]).every((w) => w.digest.lastMatchAt !== undefined || w.state !== 'watching'),
      { timeoutMs: HEAL_TIMEOUT_MS, what: "the first agent's digests to match" },
    );

    await system.restartAgent(async () => {
      await sql.query('DELETE FROM objects WHERE account = ? AND kind = ? AND namespace = ? AND name = ?', [ACCOUNT, 'ConfigMap', NS, 'cm-2']);
    });

    await waitFor(async () => sameMap(await hubObjects(sql, 'ConfigMap'), await simObjects(sim, configMapsPath)), {
      timeoutMs: HEAL_TIMEOUT_MS,
      what: 'the hub to hold the lost ConfigMap again',
    });
    const watches = await waitFor(
      async () => {
        const all = (await system.agentAdmin('/watches')).body as Json[];
        return all.every((w) => w.state !== 'watching' || w.digest.lastMatchAt !== undefined) ? all : undefined;
      },
      { timeoutMs: HEAL_TIMEOUT_MS, what: 'every watched feed to match after the restart' },
    );
    const byKind = new Map(watches.map((w) => [w.kind as string, w]));
    assert.ok(byKind.get('ConfigMap').digest.divergences >= 1, JSON.stringify(byKind.get('ConfigMap').digest));
    for (const w of watches) {
      assert.equal(w.digest.unmatchedSince, undefined, `${w.kind} matched since the reconnect`);
      if (w.kind !== 'ConfigMap') assert.equal(w.relists, 0, `${w.kind} resumed and was not relisted`);
    }
    const metrics = (await system.agentAdmin('/metrics')).body as string;
    const sent = metricSum(metrics, 'scale_agent_changes_sent_total');
    const known = watches.reduce((n, w) => n + (w.known as number), 0);
    const configMaps = byKind.get('ConfigMap').known as number;
    // Two digests per feed at most, and the ConfigMap feed's relist with its markers: never the whole cluster.
    assert.ok(known > 100, `the cluster holds ${known} objects`);
    assert.ok(
      sent <= 2 * watches.length + configMaps + 4,
      `the restarted agent sent ${sent} changes for ${watches.length} feeds and ${configMaps} ConfigMaps (${known} objects in all)`,
    );
    assert.equal((await system.agentAdmin('/health')).status, 200);
  });
});
