// The sim's write audit: every write request a cluster serves is recorded once, in order, with its
// status (refusals and dry runs included), reads are not, and each cluster keeps its own.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSim, type SimServer } from '../../src/sim/sim-server.ts';
import { WriteAudit } from '../../src/sim/write-audit.ts';
import { SimClient, configMap } from './sim-client.ts';

let sim: SimServer;
let api: SimClient;
let other: SimClient;

before(async () => {
  sim = await startSim({ port: 0, host: '127.0.0.1', clusters: ['audited', 'quiet'], podStartDelayMs: 10, podTerminationCapMs: 50 });
  api = new SimClient(sim, 'audited');
  other = new SimClient(sim, 'quiet');
});

after(async () => {
  api.close();
  other.close();
  await sim.close();
});

test('writes are audited once each with their status; reads and other clusters are not', async () => {
  const path = '/api/v1/namespaces/default/configmaps';
  assert.equal((await api.post(path, configMap('audited-1'))).status, 201);
  assert.equal((await api.post(path, configMap('audited-1'))).status, 409);
  assert.equal((await api.post(`${path}?dryRun=All`, configMap('audited-2'))).status, 201);
  assert.equal((await api.get(`${path}/audited-1`)).status, 200);
  assert.equal((await api.delete(`${path}/audited-1`)).status, 200);

  const audit = await api.get('/sim/clusters/audited/audit');
  assert.equal(audit.status, 200);
  const writes = audit.body.writes.map((w: { method: string; path: string; status: number; dryRun: boolean }) => [w.method, w.path, w.status, w.dryRun]);
  assert.deepEqual(writes, [
    ['POST', path, 201, false],
    ['POST', path, 409, false],
    ['POST', path, 201, true],
    ['DELETE', `${path}/audited-1`, 200, false],
  ]);
  assert.equal(audit.body.dropped, 0);
  assert.deepEqual((await other.get('/sim/clusters/quiet/audit')).body.writes, []);
});

test('the audit keeps the newest entries up to its limit and counts what it dropped', () => {
  const audit = new WriteAudit(3);
  for (let i = 0; i < 5; i++) audit.record({ at: i, method: 'POST', path: `/p/${i}`, status: 201, dryRun: false });
  const { writes, dropped } = audit.snapshot();
  assert.deepEqual(
    writes.map((w) => w.path),
    ['/p/2', '/p/3', '/p/4'],
  );
  assert.equal(dropped, 2);
});
