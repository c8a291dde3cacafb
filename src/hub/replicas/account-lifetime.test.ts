// The account sweep across replicas, on a real SQLite store: accounts left marked connected by a
// replica that died (or by a former run of this one) turn disconnected, with the grace period counted
// from the dead replica's last heartbeat, and are removed once it passes; accounts served anywhere stay.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../common/logger.ts';
import { createSqliteStore } from '../store/sqlite-store.ts';
import type { SqlStore } from '../store/sql-store.ts';
import { accountRecord } from '../store/testing/fixtures.ts';
import { AccountLifetime } from './account-lifetime.ts';
import type { ReplicaStatus } from './replica-liveness.ts';

const STARTED_AT = 1_700_000_000_000;
const GRACE_MS = 600_000;
const SELF = 'hub-self';

function replica(hubId: string, live: boolean, heartbeatAt: number): ReplicaStatus {
  return { hubId, live, heartbeatAt, startedAt: heartbeatAt - 1000, restUrl: null, grpcAddress: null, self: hubId === SELF };
}

let store: SqlStore;
let now: number;
let servedHere: Set<string>;
let replicas: ReplicaStatus[];
let lifetime: AccountLifetime;

/** This replica's sweep over `over` (the store, or one a test makes race), at the test's clock and replicas. */
function lifetimeOver(over: SqlStore, served: (account: string) => boolean = (account) => servedHere.has(account)): AccountLifetime {
  return new AccountLifetime({
    store: over,
    hubId: SELF,
    graceMs: GRACE_MS,
    servedHere: served,
    replicas: async () => replicas,
    logger: silentLogger(),
    startedAt: STARTED_AT,
    clock: () => now,
  });
}

beforeEach(async () => {
  store = createSqliteStore({ path: ':memory:', logger: silentLogger() });
  await store.migrate();
  now = STARTED_AT + 60_000;
  servedHere = new Set();
  replicas = [replica(SELF, true, now), replica('hub-live', true, now), replica('hub-dead', false, STARTED_AT - 30_000)];
  lifetime = lifetimeOver(store);
});

afterEach(async () => {
  await store.close();
});

async function account(name: string): Promise<{ status: string; lastSeenAt: number; hubId: string | null } | undefined> {
  const record = await store.getAccount(name);
  return record && { status: record.status, lastSeenAt: record.lastSeenAt, hubId: record.hubId };
}

test('an account left connected by a dead replica turns disconnected from its last heartbeat, and goes after the grace period', async () => {
  await store.upsertAccount(accountRecord('orphan', { hubId: 'hub-dead' }), STARTED_AT - 90_000);
  assert.deepEqual(await lifetime.sweep(), { disconnected: ['orphan'], removed: [] });
  assert.deepEqual(await account('orphan'), { status: 'disconnected', lastSeenAt: STARTED_AT - 30_000, hubId: null });

  now = STARTED_AT - 30_000 + GRACE_MS - 1;
  assert.deepEqual(await lifetime.sweep(), { disconnected: [], removed: [] });
  now += 1;
  assert.deepEqual(await lifetime.sweep(), { disconnected: [], removed: ['orphan'] });
  assert.equal(await account('orphan'), undefined);
});

test('a replica that left no row at all counts as gone: its accounts turn disconnected now', async () => {
  await store.upsertAccount(accountRecord('unknown-hub', { hubId: 'hub-vanished' }), STARTED_AT - 90_000);
  assert.deepEqual((await lifetime.sweep()).disconnected, ['unknown-hub']);
  assert.equal((await account('unknown-hub'))?.lastSeenAt, now);
});

test("this replica's rows from a former run turn disconnected; those of this run are the session handler's", async () => {
  await store.upsertAccount(accountRecord('former-run', { hubId: SELF }), STARTED_AT - 1);
  await store.upsertAccount(accountRecord('this-run', { hubId: SELF }), STARTED_AT + 1);
  assert.deepEqual((await lifetime.sweep()).disconnected, ['former-run']);
  assert.equal((await account('this-run'))?.status, 'connected');
});

test('accounts served anywhere stay: by a live replica, under a live caching lease, or by a session here', async () => {
  await store.upsertAccount(accountRecord('at-live', { hubId: 'hub-live' }), STARTED_AT - 90_000);
  await store.upsertAccount(accountRecord('leased', { hubId: 'hub-dead' }), STARTED_AT - 90_000);
  await store.claimCaching('leased', { hubId: 'hub-live', sessionId: 's-1', agentId: 'agent-1' }, now, 15_000);
  await store.upsertAccount(accountRecord('here', { hubId: 'hub-dead', status: 'disconnected' }), STARTED_AT - GRACE_MS * 2);
  servedHere.add('here');
  assert.deepEqual(await lifetime.sweep(), { disconnected: [], removed: [] });
  assert.equal((await account('at-live'))?.status, 'connected');
  assert.equal((await account('leased'))?.status, 'connected');
  assert.equal((await account('here'))?.status, 'disconnected');
});

test('a dead replica whose accounts another replica took over is not in the way: only leaseless rows are touched', async () => {
  await store.upsertAccount(accountRecord('taken-over', { hubId: 'hub-dead' }), STARTED_AT - 90_000);
  await store.claimCaching('taken-over', { hubId: 'hub-live', sessionId: 's-2', agentId: 'agent-2' }, now - 20_000, 15_000);
  // The lease ran out: nobody serves it, so it is the dead replica's row again.
  assert.deepEqual((await lifetime.sweep()).disconnected, ['taken-over']);
});

test('an agent that reconnects at a live replica while the sweep runs is not overwritten', async () => {
  await store.upsertAccount(accountRecord('moving', { hubId: 'hub-dead' }), STARTED_AT - 90_000);
  // The sweep read the row (connected through hub-dead); before its write, the agent reconnects at hub-live.
  const reconnecting: typeof store.markAbandoned = async (...args) => {
    await store.setAccountStatus('moving', 'connected', 'agent-1', 'hub-live', now);
    return store.markAbandoned(...args);
  };
  const racing = lifetimeOver(Object.assign(Object.create(store) as SqlStore, { markAbandoned: reconnecting }), () => false);
  assert.deepEqual(await racing.sweep(), { disconnected: [], removed: [] });
  assert.deepEqual(await account('moving'), { status: 'connected', lastSeenAt: now, hubId: 'hub-live' });
});

test('an agent that reconnects here while the sweep reads is not marked disconnected through its former run', async () => {
  await store.upsertAccount(accountRecord('returning', { hubId: SELF }), STARTED_AT - 1);
  // After the sweep listed the accounts, the agent's session attaches here and writes its row.
  const reconnecting: typeof store.listAssignments = async () => {
    servedHere.add('returning');
    await store.upsertAccount(accountRecord('returning', { hubId: SELF }), now);
    return store.listAssignments();
  };
  const racing = lifetimeOver(Object.assign(Object.create(store) as SqlStore, { listAssignments: reconnecting }));
  assert.deepEqual(await racing.sweep(), { disconnected: [], removed: [] });
  assert.deepEqual(await account('returning'), { status: 'connected', lastSeenAt: now, hubId: SELF });
});

test("a pass reads the accounts' states, never their whole records (whose kinds and permissions it would parse for nothing)", async () => {
  await store.upsertAccount(accountRecord('orphan', { hubId: 'hub-dead' }), STARTED_AT - 90_000);
  const wholeRecords: typeof store.listAccounts = () => Promise.reject(new Error('the sweep read whole account records'));
  const statesOnly = lifetimeOver(Object.assign(Object.create(store) as SqlStore, { listAccounts: wholeRecords, getAccount: wholeRecords }));
  assert.deepEqual(await statesOnly.sweep(), { disconnected: ['orphan'], removed: [] });
});
