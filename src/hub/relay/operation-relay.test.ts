// The operation relay between hub replicas: two or three OperationRelay instances (replicas) over one
// real store, on every engine. Time is the injected clock; progress is driven by calling poll() and
// sweep() (PollingWakeups), or by the events of an in-memory LISTEN/NOTIFY (WakeupBus). The sessions
// are a FakeExecutor per replica, which records what it ran and can hold a run in flight.
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine } from '../../../test/support/databases.ts';
import { Errors } from '../../common/errors.ts';
import { waitFor } from '../../common/time.ts';
import type { OperationOutcome, OperationRequest } from '../router/types.ts';
import type { SqlStore } from '../store/sql-store.ts';
import { accountRecord } from '../store/testing/fixtures.ts';
import type { RelayStore } from '../store/types.ts';
import {
  OperationRelay,
  RELAY_CLAIM_TIMEOUT_MS,
  RELAY_RESULT_GRACE_MS,
  RELAY_RETENTION_MS,
  RECENTLY_SERVED_MS,
  STANDBY_CLAIM_DELAY_MS,
  type OperationRelayOptions,
} from './operation-relay.ts';
import { PollingWakeups, type RelayWakeups } from './relay-wakeups.ts';
import { capturingLogger } from './testing/capturing-logger.ts';
import { FakeExecutor, ranOutcome, type Serving } from './testing/fake-executor.ts';
import { NEVER_MS, WakeupBus } from './testing/memory-wakeups.ts';

const T0 = 1_700_000_000_000;
const ACCOUNT = 'prod-east';
const REQUEST: OperationRequest = {
  type: 'scale',
  target: { group: 'apps', version: 'v1', kind: 'Deployment', namespace: 'web', name: 'api' },
  replicas: 3,
};
const DEADLINE_MS = 30_000;
const WAIT = { timeoutMs: 5000, intervalMs: 2 };

type RelayRelayStore = OperationRelayOptions['store'];

interface Replica {
  hubId: string;
  relay: OperationRelay;
  executor: FakeExecutor;
  log: ReturnType<typeof capturingLogger>;
}

interface Submitted {
  id: string;
  receivedAt: number;
  outcome: Promise<OperationOutcome>;
  /** The outcome once submit() resolved; undefined while it waits. */
  settled: () => OperationOutcome | undefined;
}

forEachEngine('OperationRelay', (engine) => {
  let store: SqlStore;
  let now: number;
  let live: Set<string>;
  let replicas: Replica[];

  beforeEach(async () => {
    store = await engine.openStore();
    now = T0;
    live = new Set(['hub-a', 'hub-b', 'hub-c']);
    replicas = [];
  });

  afterEach(async () => {
    // A held run would keep stop() waiting for it.
    for (const r of replicas) r.executor.releaseAll();
    for (const r of replicas) await r.relay.stop();
    await store.close();
  });

  function replica(hubId: string, serving: Record<string, Serving> = {}, options: { wakeups?: RelayWakeups; store?: RelayRelayStore } = {}): Replica {
    const log = capturingLogger();
    const executor = new FakeExecutor(hubId, serving);
    const relay = new OperationRelay({
      store: options.store ?? store,
      wakeups: options.wakeups ?? new PollingWakeups(NEVER_MS),
      hubId,
      logger: log.logger,
      liveReplicas: async () => new Set(live),
      sweepIntervalMs: NEVER_MS,
      clock: () => now,
    });
    relay.setExecutor(executor);
    const r = { hubId, relay, executor, log };
    replicas.push(r);
    return r;
  }

  /** The store with some of its relay calls replaced (a failing or slow database). */
  function storeWith(overrides: Partial<RelayStore>): RelayRelayStore {
    return new Proxy(store, {
      get(target, property, receiver) {
        if (Object.hasOwn(overrides, property)) return overrides[property as keyof RelayStore];
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  async function row(id: string): Promise<{ status: string; claimedBy: string | null; outcome: string | null } | undefined> {
    const r = await store.db.selectFrom('relayed_operations').select(['status', 'claimed_by', 'outcome']).where('id', '=', id).executeTakeFirst();
    return r === undefined ? undefined : { status: r.status, claimedBy: r.claimed_by, outcome: r.outcome };
  }

  async function statusOf(id: string): Promise<string | undefined> {
    return (await row(id))?.status;
  }

  async function until(id: string, status: string): Promise<void> {
    await waitFor(async () => (await statusOf(id)) === status, { ...WAIT, what: `${id} to be ${status}` });
  }

  /** Submits at `at` and returns once the operation is queued (or submit already answered). */
  async function submit(at: Replica, id: string, deadlineAt = now + DEADLINE_MS): Promise<Submitted> {
    let result: OperationOutcome | undefined;
    const receivedAt = now - 7;
    const before = at.relay.waiting;
    const outcome = at.relay.submit(id, ACCOUNT, REQUEST, deadlineAt, receivedAt).then((o) => (result = o));
    await waitFor(() => result !== undefined || at.relay.waiting > before, { ...WAIT, what: `${id} to be queued` });
    return { id, receivedAt, outcome, settled: () => result };
  }

  async function answered(s: Submitted): Promise<OperationOutcome> {
    await waitFor(() => s.settled(), { ...WAIT, what: `the outcome of ${s.id}` });
    return s.outcome;
  }

  /** The outcome the submitter reads back once the claimer's outcome is in the table. */
  async function collect(at: Replica, s: Submitted): Promise<OperationOutcome> {
    await until(s.id, 'DONE');
    await at.relay.poll();
    assert.ok(s.settled(), `${s.id} was answered by the submitter's poll`);
    return s.outcome;
  }

  function assertRanAt(outcome: OperationOutcome, r: Replica, s: Submitted): void {
    const expected = ranOutcome({ id: s.id, account: ACCOUNT }, r.hubId);
    assert.deepEqual(outcome, { ...expected, timings: { ...expected.timings, receivedAt: s.receivedAt } });
  }

  describe('polling', () => {
    test('an operation relayed to the replica serving its account runs there once, and its outcome answers the submitter', async () => {
      const a = replica('hub-a');
      const b = replica('hub-b', { [ACCOUNT]: 'caching' });
      const c = replica('hub-c', { other: 'caching' });
      const s = await submit(a, 'op-1');
      assert.equal(a.relay.waiting, 1);
      assert.deepEqual(await row('op-1'), { status: 'QUEUED', claimedBy: null, outcome: null });

      await c.relay.poll();
      assert.equal(await statusOf('op-1'), 'QUEUED', 'a replica that does not serve the account leaves it');
      await b.relay.poll();
      const outcome = await collect(a, s);

      assertRanAt(outcome, b, s);
      assert.deepEqual(b.executor.ran, [{ id: 'op-1', request: REQUEST }]);
      assert.equal(await row('op-1'), undefined, 'the submitter deleted the row');
      assert.equal(a.relay.waiting, 0);
      await Promise.all([a.relay.poll(), b.relay.poll(), c.relay.poll()]);
      assert.deepEqual(b.executor.calls, ['op-1']);
      assert.deepEqual(c.executor.calls, []);
      assert.deepEqual(a.executor.calls, []);
    });

    test('replicas racing for the same operations: each runs at exactly one of them', async () => {
      const a = replica('hub-a');
      const b = replica('hub-b', { [ACCOUNT]: 'caching' });
      const c = replica('hub-c', { [ACCOUNT]: 'caching' });
      const ids = ['op-1', 'op-2', 'op-3', 'op-4', 'op-5'];
      const submitted: Submitted[] = [];
      for (const id of ids) submitted.push(await submit(a, id));

      await Promise.all([b.relay.poll(), c.relay.poll(), b.relay.poll(), c.relay.poll()]);
      for (const id of ids) await until(id, 'DONE');
      await a.relay.poll();

      const calls = [...b.executor.calls, ...c.executor.calls].sort();
      assert.deepEqual(calls, ids, 'every operation was run once, by one replica');
      for (const s of submitted) {
        const at = b.executor.calls.includes(s.id) ? b : c;
        assertRanAt(await s.outcome, at, s);
        assert.equal(await row(s.id), undefined);
      }
    });

    test('the replica whose session caches the account takes the operation; a standby leaves it for STANDBY_CLAIM_DELAY_MS', async () => {
      const a = replica('hub-a');
      const standby = replica('hub-b', { [ACCOUNT]: 'standby' });
      const caching = replica('hub-c', { [ACCOUNT]: 'caching' });
      const s = await submit(a, 'op-1');

      await standby.relay.poll();
      now = T0 + STANDBY_CLAIM_DELAY_MS - 1;
      await standby.relay.poll();
      assert.equal(await statusOf('op-1'), 'QUEUED', 'a standby does not claim before the delay');
      await caching.relay.poll();
      assertRanAt(await collect(a, s), caching, s);

      now = T0 + STANDBY_CLAIM_DELAY_MS;
      await standby.relay.poll();
      assert.deepEqual(standby.executor.calls, []);
      assert.deepEqual(caching.executor.ranIds(), ['op-1']);
    });

    test('with no caching replica, a standby takes the operation once STANDBY_CLAIM_DELAY_MS has passed', async () => {
      const a = replica('hub-a');
      const standby = replica('hub-b', { [ACCOUNT]: 'standby' });
      const s = await submit(a, 'op-1');

      now = T0 + STANDBY_CLAIM_DELAY_MS - 1;
      await standby.relay.poll();
      assert.equal(await statusOf('op-1'), 'QUEUED');
      now = T0 + STANDBY_CLAIM_DELAY_MS;
      await standby.relay.poll();
      assertRanAt(await collect(a, s), standby, s);
      assert.deepEqual(standby.executor.ranIds(), ['op-1']);
    });

    test('nobody claims the operation: ACCOUNT_NOT_CONNECTED after RELAY_CLAIM_TIMEOUT_MS, and the row is gone', async () => {
      const a = replica('hub-a');
      const b = replica('hub-b', { other: 'caching' });
      const s = await submit(a, 'op-1');

      now = T0 + RELAY_CLAIM_TIMEOUT_MS - 1;
      await Promise.all([a.relay.poll(), b.relay.poll()]);
      assert.equal(s.settled(), undefined, 'still within the claim timeout');
      assert.equal(await statusOf('op-1'), 'QUEUED');

      now = T0 + RELAY_CLAIM_TIMEOUT_MS;
      await a.relay.poll();
      const outcome = s.settled();
      assert.ok(outcome, 'the poll at the claim timeout answered');
      assert.equal(outcome.errorCode, Errors.ACCOUNT_NOT_CONNECTED.code);
      assert.equal(outcome.httpStatus, 0);
      assert.match(outcome.message, /no hub replica with an agent session for account prod-east took the operation within 10 s/);
      assert.equal(outcome.timings.receivedAt, s.receivedAt);
      assert.equal(await row('op-1'), undefined);
      assert.equal(a.relay.waiting, 0);

      // A session for the account that turns up later finds nothing to run.
      b.executor.serving.set(ACCOUNT, 'caching');
      await b.relay.poll();
      assert.deepEqual(b.executor.calls, []);
    });

    test('a deadline sooner than RELAY_CLAIM_TIMEOUT_MS bounds the wait for a claimer', async () => {
      const a = replica('hub-a');
      const s = await submit(a, 'op-1', T0 + 3000);
      now = T0 + 2999;
      await a.relay.poll();
      assert.equal(s.settled(), undefined);
      now = T0 + 3000;
      await a.relay.poll();
      assert.equal(s.settled()?.errorCode, Errors.ACCOUNT_NOT_CONNECTED.code);
      assert.equal(await row('op-1'), undefined);
    });

    test("the deadline passes while the claimer runs the operation: OPERATION_DEADLINE_EXCEEDED, and the claimer's late outcome is refused", async () => {
      const a = replica('hub-a');
      const b = replica('hub-b', { [ACCOUNT]: 'caching' });
      b.executor.hold('running');
      const deadline = T0 + 5000;
      const s = await submit(a, 'op-1', deadline);
      await b.relay.poll();
      await waitFor(() => b.executor.isWaiting('op-1', 'running'), { ...WAIT, what: 'the run to reach the agent' });
      assert.deepEqual(await row('op-1'), { status: 'SENT', claimedBy: 'hub-b', outcome: null });

      // Past the claim timeout (the deadline here) an operation already claimed is not "not connected".
      now = deadline;
      await a.relay.poll();
      now = deadline + RELAY_RESULT_GRACE_MS - 1;
      await a.relay.poll();
      assert.equal(s.settled(), undefined, 'the claimer has the grace period to answer');
      assert.equal(await statusOf('op-1'), 'SENT');

      now = deadline + RELAY_RESULT_GRACE_MS;
      await a.relay.poll();
      const outcome = s.settled();
      assert.ok(outcome);
      assert.equal(outcome.errorCode, Errors.OPERATION_DEADLINE_EXCEEDED.code);
      assert.match(outcome.message, /whether it ran is unknown/);
      assert.equal(await row('op-1'), undefined);

      b.executor.release('op-1');
      await waitFor(() => b.log.has('came after its submitter gave up'), { ...WAIT, what: "the claimer's outcome to be refused" });
      assert.equal(await row('op-1'), undefined);
      await a.relay.poll();
      assert.equal((await s.outcome).errorCode, Errors.OPERATION_DEADLINE_EXCEEDED.code);
      assert.deepEqual(b.executor.ranIds(), ['op-1']);
    });

    test('the submitter gives up while the claim is not yet sent: the claimer does not send it (claim-lost)', async () => {
      const a = replica('hub-a');
      const b = replica('hub-b', { [ACCOUNT]: 'caching' });
      b.executor.hold('before-send');
      const deadline = T0 + 5000;
      const s = await submit(a, 'op-1', deadline);
      await b.relay.poll();
      await waitFor(() => b.executor.isWaiting('op-1', 'before-send'), { ...WAIT, what: 'the run to start' });
      assert.deepEqual(await row('op-1'), { status: 'CLAIMED', claimedBy: 'hub-b', outcome: null });

      now = deadline + RELAY_RESULT_GRACE_MS;
      await a.relay.poll();
      assert.equal(s.settled()?.errorCode, Errors.OPERATION_DEADLINE_EXCEEDED.code);

      b.executor.release('op-1');
      await waitFor(() => b.executor.claimLost.includes('op-1'), { ...WAIT, what: 'the claim to be found lost' });
      assert.deepEqual(b.executor.ran, [], 'never handed to the agent');
      await waitFor(() => b.log.has('a claimed relayed operation was not sent'), WAIT);
      assert.equal(await row('op-1'), undefined);
    });

    test('a claimer that died before sending: the sweep puts the operation back, and a live replica runs it once', async () => {
      const a = replica('hub-a');
      const b = replica('hub-b', { [ACCOUNT]: 'caching' });
      const s = await submit(a, 'op-1');
      assert.ok(await store.claimRelayed('op-1', 'hub-dead', now));
      await b.relay.poll();
      assert.deepEqual(b.executor.calls, [], 'claimed elsewhere');

      live = new Set(['hub-a', 'hub-b']);
      await b.relay.sweep();
      assert.deepEqual(await row('op-1'), { status: 'QUEUED', claimedBy: null, outcome: null });
      assert.ok(b.log.has('requeued a relayed operation claimed by a hub replica that died'));
      await b.relay.poll();
      assertRanAt(await collect(a, s), b, s);
      await b.relay.sweep();
      await b.relay.poll();
      assert.deepEqual(b.executor.calls, ['op-1']);
    });

    test('a claimer that died after sending: OPERATION_OUTCOME_UNKNOWN reaches the submitter, and the operation is never run again', async () => {
      const a = replica('hub-a');
      const b = replica('hub-b', { [ACCOUNT]: 'caching' });
      const s = await submit(a, 'op-1');
      assert.ok(await store.claimRelayed('op-1', 'hub-dead', now));
      assert.equal(await store.markRelayedSent('op-1', 'hub-dead', now), true);

      live = new Set(['hub-a', 'hub-b']);
      await b.relay.sweep();
      await b.relay.poll();
      const outcome = await collect(a, s);
      assert.equal(outcome.errorCode, Errors.OPERATION_OUTCOME_UNKNOWN.code);
      assert.match(outcome.message, /hub replica hub-dead sent the operation .* whether it ran is unknown, and it is not sent again/);
      assert.equal(outcome.timings.receivedAt, s.receivedAt);
      assert.equal(await row('op-1'), undefined);
      await b.relay.sweep();
      await b.relay.poll();
      assert.deepEqual(b.executor.calls, []);
    });

    test('a claimer wrongly found dead before sending loses its claim: the operation runs once, at the replica that took it over', async () => {
      const a = replica('hub-a');
      const b = replica('hub-b', { [ACCOUNT]: 'caching' });
      const c = replica('hub-c', { [ACCOUNT]: 'caching' });
      b.executor.hold('before-send');
      c.executor.hold('before-send');
      const s = await submit(a, 'op-1');
      await b.relay.poll();
      await waitFor(() => b.executor.isWaiting('op-1', 'before-send'), WAIT);

      // hub-b missed its heartbeats (a long pause) but is still running.
      live = new Set(['hub-a', 'hub-c']);
      await c.relay.sweep();
      await c.relay.poll();
      await waitFor(() => c.executor.isWaiting('op-1', 'before-send'), WAIT);
      assert.deepEqual(await row('op-1'), { status: 'CLAIMED', claimedBy: 'hub-c', outcome: null });

      b.executor.release('op-1');
      await waitFor(() => b.executor.claimLost.includes('op-1'), { ...WAIT, what: 'hub-b to find its claim gone' });
      c.executor.release('op-1');
      assertRanAt(await collect(a, s), c, s);
      assert.deepEqual(b.executor.ran, []);
      assert.deepEqual(c.executor.ranIds(), ['op-1']);
    });

    test("a claimer wrongly found dead after sending: the sweep's OPERATION_OUTCOME_UNKNOWN stands, and its own late outcome is refused", async () => {
      const a = replica('hub-a');
      const b = replica('hub-b', { [ACCOUNT]: 'caching' });
      const c = replica('hub-c');
      b.executor.hold('running');
      const s = await submit(a, 'op-1');
      await b.relay.poll();
      await waitFor(() => b.executor.isWaiting('op-1', 'running'), WAIT);

      live = new Set(['hub-a', 'hub-c']);
      await c.relay.sweep();
      assert.equal(await statusOf('op-1'), 'DONE');
      // The claimer answers before the submitter has read the sweep's outcome.
      b.executor.release('op-1');
      await waitFor(() => b.log.has('came after its submitter gave up'), { ...WAIT, what: "hub-b's outcome to be refused" });
      await a.relay.poll();
      assert.equal(s.settled()?.errorCode, Errors.OPERATION_OUTCOME_UNKNOWN.code);
      assert.equal(await row('op-1'), undefined);
    });

    test("the sweep leaves live replicas' claims alone, and a replica never settles its own, even when presence does not list it", async () => {
      const a = replica('hub-a');
      const b = replica('hub-b', { [ACCOUNT]: 'caching' });
      b.executor.hold('running');
      await submit(a, 'op-1');
      await submit(a, 'op-2');
      await submit(a, 'op-3');
      assert.ok(await store.claimRelayed('op-1', 'hub-c', now));
      assert.ok(await store.claimRelayed('op-2', 'hub-c', now));
      assert.ok(await store.markRelayedSent('op-2', 'hub-c', now));
      await b.relay.poll();
      await waitFor(() => b.executor.isWaiting('op-3', 'running'), WAIT);

      await a.relay.sweep();
      await b.relay.sweep();
      assert.deepEqual(await row('op-1'), { status: 'CLAIMED', claimedBy: 'hub-c', outcome: null });
      assert.deepEqual(await row('op-2'), { status: 'SENT', claimedBy: 'hub-c', outcome: null });
      assert.deepEqual(await row('op-3'), { status: 'SENT', claimedBy: 'hub-b', outcome: null });

      // hub-b has not (yet, or any more) a live heartbeat, as its own sweep reads presence.
      live = new Set(['hub-a', 'hub-c']);
      await b.relay.sweep();
      assert.deepEqual(
        await row('op-3'),
        { status: 'SENT', claimedBy: 'hub-b', outcome: null },
        "hub-b's own running operation is not failed by its own sweep",
      );
    });

    test('start() settles what a former run of the replica left: its claims are requeued, what it had sent fails OPERATION_OUTCOME_UNKNOWN', async () => {
      const a = replica('hub-a');
      const s1 = await submit(a, 'op-1');
      const s2 = await submit(a, 'op-2');
      const s3 = await submit(a, 'op-3');
      assert.ok(await store.claimRelayed('op-1', 'hub-b', now));
      assert.ok(await store.claimRelayed('op-2', 'hub-b', now));
      assert.ok(await store.markRelayedSent('op-2', 'hub-b', now));
      assert.ok(await store.claimRelayed('op-3', 'hub-c', now));

      // Restarted under the same id, and live: start() does not ask presence.
      const b = replica('hub-b', { [ACCOUNT]: 'caching' });
      await b.relay.start();
      assert.deepEqual(await row('op-1'), { status: 'QUEUED', claimedBy: null, outcome: null });
      assert.equal(await statusOf('op-2'), 'DONE');
      assert.deepEqual(await row('op-3'), { status: 'CLAIMED', claimedBy: 'hub-c', outcome: null }, "another replica's claim stays");
      assert.ok(b.log.has('requeued a relayed operation claimed by a former run of this replica'));

      await b.relay.poll();
      assertRanAt(await collect(a, s1), b, s1);
      assert.equal((await s2.outcome).errorCode, Errors.OPERATION_OUTCOME_UNKNOWN.code);
      assert.equal(s3.settled(), undefined);
      assert.deepEqual(b.executor.calls, ['op-1']);
    });

    test('the session went away between the claim and the send (no-session): the operation goes back to the queue for another replica', async () => {
      const a = replica('hub-a');
      const b = replica('hub-b', { [ACCOUNT]: 'caching' });
      const c = replica('hub-c', { [ACCOUNT]: 'standby' });
      b.executor.hold('before-send');
      const s = await submit(a, 'op-1');
      await b.relay.poll();
      await waitFor(() => b.executor.isWaiting('op-1', 'before-send'), WAIT);
      b.executor.serving.delete(ACCOUNT);
      b.executor.release('op-1');
      await waitFor(async () => (await row('op-1'))?.claimedBy === null, { ...WAIT, what: 'the claim to be given back' });
      assert.deepEqual(await row('op-1'), { status: 'QUEUED', claimedBy: null, outcome: null });
      assert.deepEqual(b.executor.noSession, ['op-1']);
      assert.deepEqual(b.executor.ran, []);

      now = T0 + STANDBY_CLAIM_DELAY_MS;
      await c.relay.poll();
      assertRanAt(await collect(a, s), c, s);
      assert.deepEqual(c.executor.ranIds(), ['op-1']);
    });

    test("stop() withdraws the replica's queued operations (they did not run) and answers the claimed ones OPERATION_OUTCOME_UNKNOWN", async () => {
      const a = replica('hub-a');
      const b = replica('hub-b', { [ACCOUNT]: 'caching' });
      b.executor.hold('running');
      const queued = await submit(a, 'op-1');
      const running = await submit(a, 'op-2');
      assert.ok(await store.claimRelayed('op-2', 'hub-b', now));
      assert.ok(await store.markRelayedSent('op-2', 'hub-b', now));
      await a.relay.stop();
      assert.equal(queued.settled()?.errorCode, Errors.ACCOUNT_NOT_CONNECTED.code);
      assert.match(queued.settled()?.message ?? '', /it did not run/);
      assert.equal(await row('op-1'), undefined, 'withdrawn: no replica may run it any more');
      assert.equal(running.settled()?.errorCode, Errors.OPERATION_OUTCOME_UNKNOWN.code);
      for (const s of [queued, running]) assert.equal(s.settled()?.timings.receivedAt, s.receivedAt);
      assert.equal(a.relay.waiting, 0);
      await b.relay.poll();
      assert.deepEqual(b.executor.calls, []);
      const late = await a.relay.submit('op-3', ACCOUNT, REQUEST, now + DEADLINE_MS, now);
      assert.equal(late.errorCode, Errors.ACCOUNT_NOT_CONNECTED.code, 'a stopped replica relays nothing more');
      assert.equal(await row('op-3'), undefined);
    });

    test('stop() waits for the operations the replica runs for others, whose outcomes are recorded', async () => {
      const a = replica('hub-a');
      const b = replica('hub-b', { [ACCOUNT]: 'caching' });
      b.executor.hold('running');
      const s = await submit(a, 'op-1');
      await b.relay.poll();
      await waitFor(() => b.executor.isWaiting('op-1', 'running'), WAIT);
      const stopping = b.relay.stop();
      b.executor.release('op-1');
      await stopping;
      assert.equal(await statusOf('op-1'), 'DONE', 'the outcome was recorded before stop() resolved');
      await a.relay.poll();
      assertRanAt(await s.outcome, b, s);
    });

    test('an operation the store could not queue is answered ACCOUNT_NOT_CONNECTED (it did not run) once nobody could claim it', async () => {
      const a = replica(
        'hub-a',
        {},
        {
          store: storeWith({
            enqueueRelayed: async () => {
              throw new Error('connection lost');
            },
          }),
        },
      );
      const s = await submit(a, 'op-1');
      assert.equal(s.settled(), undefined, 'its INSERT may have committed: it is waited for');
      now = T0 + RELAY_CLAIM_TIMEOUT_MS;
      await a.relay.poll();
      assert.equal(s.settled()?.errorCode, Errors.ACCOUNT_NOT_CONNECTED.code);
      assert.match(s.settled()?.message ?? '', /could not be queued: it did not run/);
    });

    test('an INSERT that committed with its answer lost: the operation runs at the serving replica and its outcome reaches the submitter', async () => {
      const a = replica(
        'hub-a',
        {},
        {
          store: storeWith({
            enqueueRelayed: async (op, at) => {
              await store.enqueueRelayed(op, at);
              throw new Error('connection lost after the commit');
            },
          }),
        },
      );
      const b = replica('hub-b', { [ACCOUNT]: 'caching' });
      const s = await submit(a, 'op-1');
      await b.relay.poll();
      const outcome = await collect(a, s);
      assertRanAt(outcome, b, s);
      assert.deepEqual(b.executor.calls, ['op-1']);
    });

    test('a second operation under an id this replica already waits for is refused at once', async () => {
      const a = replica('hub-a');
      const first = await submit(a, 'op-1');
      const again = await a.relay.submit('op-1', ACCOUNT, REQUEST, now + DEADLINE_MS, now);
      assert.equal(again.errorCode, Errors.INTERNAL_ERROR.code);
      assert.equal(first.settled(), undefined);
      assert.equal(await statusOf('op-1'), 'QUEUED');
    });

    test('an outcome in the table that does not parse answers INTERNAL_ERROR', async () => {
      const a = replica('hub-a');
      const s = await submit(a, 'op-1');
      assert.ok(await store.completeRelayed('op-1', '{"id": "op-1", trunc', { statuses: ['QUEUED'] }, now));
      await a.relay.poll();
      assert.equal(s.settled()?.errorCode, Errors.INTERNAL_ERROR.code);
      assert.match(s.settled()?.message ?? '', /the relayed outcome does not parse/);
      assert.equal(await row('op-1'), undefined);
    });

    test('an outcome in the table that parses to no object (a NULL column, a scalar) still answers INTERNAL_ERROR', async () => {
      const a = replica('hub-a');
      const s1 = await submit(a, 'op-1');
      const s2 = await submit(a, 'op-2');
      await store.db.updateTable('relayed_operations').set({ status: 'DONE', outcome: null }).where('id', '=', 'op-1').execute();
      await store.db.updateTable('relayed_operations').set({ status: 'DONE', outcome: '42' }).where('id', '=', 'op-2').execute();
      await a.relay.poll();
      await a.relay.poll();
      assert.equal(s1.settled()?.errorCode, Errors.INTERNAL_ERROR.code, 'a NULL outcome answers its waiter');
      assert.equal(s2.settled()?.errorCode, Errors.INTERNAL_ERROR.code, 'a scalar outcome answers its waiter');
    });

    test('a request in the table that does not parse is answered INTERNAL_ERROR by the claimer, never run', async () => {
      const b = replica('hub-b', { [ACCOUNT]: 'caching' });
      await store.enqueueRelayed(
        { id: 'op-1', account: ACCOUNT, originHubId: 'hub-a', request: '{"type": "sca', deadlineAt: now + DEADLINE_MS, createdAt: now },
        now,
      );
      await b.relay.poll();
      await until('op-1', 'DONE');
      const outcome = JSON.parse((await row('op-1'))?.outcome ?? 'null') as OperationOutcome;
      assert.equal(outcome.errorCode, Errors.INTERNAL_ERROR.code);
      assert.match(outcome.message, /the relayed request does not parse/);
      assert.deepEqual(b.executor.calls, []);
    });

    test('the sweep deletes rows RELAY_RETENTION_MS past their deadline (their submitter died), and only those', async () => {
      const b = replica('hub-b');
      const op = { account: ACCOUNT, originHubId: 'hub-dead', request: JSON.stringify(REQUEST), createdAt: now - RELAY_RETENTION_MS - DEADLINE_MS };
      await store.enqueueRelayed({ ...op, id: 'old', deadlineAt: now - RELAY_RETENTION_MS - 1 }, now);
      await store.enqueueRelayed({ ...op, id: 'recent', deadlineAt: now - RELAY_RETENTION_MS + 1 }, now);
      await b.relay.sweep();
      assert.equal(await row('old'), undefined);
      assert.equal(await statusOf('recent'), 'QUEUED');
    });

    test('servedElsewhere: a live caching lease at another replica, an account marked connected, or one served until moments ago', async () => {
      const a = replica('hub-a');
      const b = replica('hub-b');
      assert.equal(await a.relay.servedElsewhere(ACCOUNT), false, 'unknown account');

      const leaseMs = 15_000;
      const granted = await store.claimCaching(ACCOUNT, { hubId: 'hub-b', sessionId: 's-1', agentId: 'agent-1' }, now, leaseMs);
      assert.equal(granted.granted, true);
      assert.equal(await a.relay.servedElsewhere(ACCOUNT), true, 'live lease at hub-b');
      assert.equal(await b.relay.servedElsewhere(ACCOUNT), false, 'the lease is its own');
      now = T0 + leaseMs;
      assert.equal(await a.relay.servedElsewhere(ACCOUNT), false, 'the lease ran out');

      await store.upsertAccount(accountRecord(ACCOUNT, { hubId: 'hub-b', status: 'connected' }), now);
      assert.equal(await a.relay.servedElsewhere(ACCOUNT), true, 'connected through hub-b');
      // The router asks only when no session of its own serves the account: a row naming this replica
      // is stale or about to change, and a standby elsewhere may serve it.
      assert.equal(await b.relay.servedElsewhere(ACCOUNT), true, 'connected through itself, yet no session here');

      const lastSeen = now;
      await store.upsertAccount(accountRecord(ACCOUNT, { hubId: 'hub-b', status: 'disconnected' }), lastSeen);
      now = lastSeen + RECENTLY_SERVED_MS - 1;
      assert.equal(await a.relay.servedElsewhere(ACCOUNT), true, 'disconnected moments ago: a standby may be taking over');
      now = lastSeen + RECENTLY_SERVED_MS;
      assert.equal(await a.relay.servedElsewhere(ACCOUNT), false, 'disconnected for RECENTLY_SERVED_MS');
    });

    test('a claimer wrongly found dead whose session then went cannot give back the operation another replica has sent', async () => {
      const a = replica('hub-a');
      const b = replica('hub-b', { [ACCOUNT]: 'caching' });
      const c = replica('hub-c', { [ACCOUNT]: 'caching' });
      b.executor.hold('before-send');
      c.executor.hold('running');
      const s = await submit(a, 'op-1');
      await b.relay.poll();
      await waitFor(() => b.executor.isWaiting('op-1', 'before-send'), WAIT);
      live = new Set(['hub-a', 'hub-c']);
      await c.relay.sweep();
      await c.relay.poll();
      await waitFor(() => c.executor.isWaiting('op-1', 'running'), WAIT);

      b.executor.serving.delete(ACCOUNT);
      b.executor.release('op-1');
      // stop() waits for hub-b's run, and so for its attempt to give the operation back.
      await b.relay.stop();
      assert.deepEqual(b.executor.noSession, ['op-1']);
      assert.deepEqual(await row('op-1'), { status: 'SENT', claimedBy: 'hub-c', outcome: null });
      c.executor.release('op-1');
      assertRanAt(await collect(a, s), c, s);
      assert.deepEqual(c.executor.calls, ['op-1']);
    });

    test('a queued operation whose deadline has passed is not run: nobody waits for its outcome any more', async () => {
      // Its submitter died (or stopped) before giving it up; an agent that connects later must not get it.
      const b = replica('hub-b', { [ACCOUNT]: 'caching' });
      await store.enqueueRelayed(
        { id: 'op-1', account: ACCOUNT, originHubId: 'hub-dead', request: JSON.stringify(REQUEST), deadlineAt: now - 1, createdAt: now - DEADLINE_MS },
        now - DEADLINE_MS,
      );
      await b.relay.poll();
      const status = await statusOf('op-1');
      assert.ok(status === 'QUEUED' || status === 'DONE', `not claimed (status ${status})`);
      assert.deepEqual(b.executor.calls, []);
    });

    test('a store failure while confirming the claim gives the operation back instead of stranding it until the deadline', async () => {
      const a = replica('hub-a');
      let failures = 1;
      const flaky = storeWith({
        markRelayedSent: async (id, hubId, at) => {
          if (failures-- > 0) throw new Error('connection lost');
          return store.markRelayedSent(id, hubId, at);
        },
      });
      const b = replica('hub-b', { [ACCOUNT]: 'caching' }, { store: flaky });
      const c = replica('hub-c', { [ACCOUNT]: 'caching' });
      const s = await submit(a, 'op-1');
      await b.relay.poll();
      await waitFor(() => b.executor.claimLost.includes('op-1'), WAIT);
      // stop() waits for b's run to end.
      await b.relay.stop();
      assert.deepEqual(await row('op-1'), { status: 'QUEUED', claimedBy: null, outcome: null }, 'the claim hub-b could not confirm was given back');
      await c.relay.poll();
      assertRanAt(await collect(a, s), c, s);
    });
  });

  describe('wakeups', () => {
    test('a queued event makes the caching replica claim at once, and the done event answers the submitter, without polling', async () => {
      const bus = new WakeupBus();
      const a = replica('hub-a', {}, { wakeups: bus.endpoint('hub-a') });
      const b = replica('hub-b', { [ACCOUNT]: 'caching' }, { wakeups: bus.endpoint('hub-b') });
      const c = replica('hub-c', { [ACCOUNT]: 'standby' }, { wakeups: bus.endpoint('hub-c') });
      for (const r of [a, b, c]) await r.relay.start();

      const s = await submit(a, 'op-1');
      assertRanAt(await answered(s), b, s);
      assert.deepEqual(b.executor.calls, ['op-1']);
      assert.deepEqual(c.executor.calls, []);
      await waitFor(async () => (await row('op-1')) === undefined, WAIT);
      assert.deepEqual(bus.published, [
        { from: 'hub-a', event: { kind: 'queued', id: 'op-1', account: ACCOUNT } },
        { from: 'hub-b', event: { kind: 'done', id: 'op-1', originHubId: 'hub-a' } },
      ]);
    });

    test('a standby replica does not claim on the event; it claims at its poll after STANDBY_CLAIM_DELAY_MS', async () => {
      const bus = new WakeupBus();
      const a = replica('hub-a', {}, { wakeups: bus.endpoint('hub-a') });
      const b = replica('hub-b', { [ACCOUNT]: 'standby' }, { wakeups: bus.endpoint('hub-b') });
      for (const r of [a, b]) await r.relay.start();

      const s = await submit(a, 'op-1');
      await bus.idle();
      assert.equal(await statusOf('op-1'), 'QUEUED');
      now = T0 + STANDBY_CLAIM_DELAY_MS;
      await b.relay.poll();
      assertRanAt(await answered(s), b, s);
    });

    test("the sweep's requeue event wakes the caching replica", async () => {
      const bus = new WakeupBus();
      const a = replica('hub-a', {}, { wakeups: bus.endpoint('hub-a') });
      const b = replica('hub-b', {}, { wakeups: bus.endpoint('hub-b') });
      for (const r of [a, b]) await r.relay.start();
      const s = await submit(a, 'op-1');
      assert.ok(await store.claimRelayed('op-1', 'hub-dead', now));
      b.executor.serving.set(ACCOUNT, 'caching');

      live = new Set(['hub-a', 'hub-b']);
      await a.relay.sweep();
      assertRanAt(await answered(s), b, s);
      assert.deepEqual(b.executor.calls, ['op-1']);
    });

    test('a gap in the events (a reconnection) makes every replica poll', async () => {
      const bus = new WakeupBus();
      const a = replica('hub-a', {}, { wakeups: bus.endpoint('hub-a') });
      const b = replica('hub-b', {}, { wakeups: bus.endpoint('hub-b') });
      for (const r of [a, b]) await r.relay.start();
      const s = await submit(a, 'op-1');
      await bus.idle();
      // The session came after the event: only a poll finds the operation.
      b.executor.serving.set(ACCOUNT, 'caching');
      bus.gap();
      assertRanAt(await answered(s), b, s);
    });

    test('an event claim still in flight when stop() is called does not run the operation after stop() resolved', async () => {
      const bus = new WakeupBus();
      let reachClaim: () => void = () => {};
      const claimReached = new Promise<void>((resolve) => (reachClaim = resolve));
      let letClaim: () => void = () => {};
      const claimGate = new Promise<void>((resolve) => (letClaim = resolve));
      const slow = storeWith({
        claimRelayed: async (id, hubId, at) => {
          reachClaim();
          await claimGate;
          return store.claimRelayed(id, hubId, at);
        },
      });
      const a = replica('hub-a', {}, { wakeups: bus.endpoint('hub-a') });
      const b = replica('hub-b', { [ACCOUNT]: 'caching' }, { wakeups: bus.endpoint('hub-b'), store: slow });
      for (const r of [a, b]) await r.relay.start();
      let stopped = false;
      const lateCalls: string[] = [];
      b.executor.onCall = (id) => {
        if (stopped) lateCalls.push(id);
      };

      await submit(a, 'op-1');
      await claimReached;
      const stopping = b.relay.stop().then(() => (stopped = true));
      letClaim();
      await stopping;
      await waitFor(
        async () => {
          const status = await statusOf('op-1');
          return status === 'QUEUED' || status === 'DONE';
        },
        { ...WAIT, what: 'the claim in flight to settle' },
      );
      assert.deepEqual(lateCalls, [], 'no operation started at hub-b after its stop() resolved');
    });
  });
});
