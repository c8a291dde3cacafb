// A relayed row whose request the claiming replica cannot encode (another hub version's request shape,
// or a row any database client wrote) is answered OPERATION_INVALID without being sent, through the real
// session router. Found by review: it used to reject outside any handler (the hub exits on an
// unhandled rejection) and leave the row SENT though nothing was sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine } from '../../../test/support/databases.ts';
import { Errors } from '../../common/errors.ts';
import { silentLogger } from '../../common/logger.ts';
import { waitFor } from '../../common/time.ts';
import { SessionRouter } from '../router/session-router.ts';
import type { OperationOutcome } from '../router/types.ts';
import { OperationRelay } from './operation-relay.ts';
import { PollingWakeups } from './relay-wakeups.ts';

/** Longer than the test: timers never fire, the test polls by hand. */
const NEVER_MS = 3_600_000;

forEachEngine(
  'relayed requests',
  (engine) => {
    test('a request the claimer cannot encode is answered OPERATION_INVALID and never sent', async () => {
      const store = await engine.openStore();
      const rejections: unknown[] = [];
      const onRejection = (reason: unknown) => rejections.push(reason);
      process.on('unhandledRejection', onRejection);
      const sent: unknown[] = [];
      const session = {
        agentId: 'agent-1',
        isClosed: false,
        sendOperation: (op: unknown) => (sent.push(op), { sent: true }),
        forgetOperation: () => undefined,
      };
      const registry = { operationSession: () => session, cachingSession: () => session };
      const router = new SessionRouter({ store, registry: registry as never, logger: silentLogger(), defaultTimeoutMs: 5000, hubId: 'hub-b' });
      const relay = new OperationRelay({
        store,
        wakeups: new PollingWakeups(NEVER_MS),
        hubId: 'hub-b',
        logger: silentLogger(),
        liveReplicas: async () => new Set(['hub-a', 'hub-b']),
        sweepIntervalMs: NEVER_MS,
      });
      relay.setExecutor(router);
      try {
        const now = Date.now();
        await store.enqueueRelayed(
          { id: 'op-1', account: 'prod', originHubId: 'hub-a', request: JSON.stringify({ type: 'get' }), deadlineAt: now + 30_000, createdAt: now },
          now,
        );
        await relay.poll();
        const [done] = await waitFor(
          async () => {
            const rows = await store.finishedRelayed('hub-a', 10);
            return rows.length > 0 ? rows : undefined;
          },
          { timeoutMs: 5000, what: 'the outcome to be recorded' },
        );
        const outcome = JSON.parse(done!.outcome) as OperationOutcome;
        assert.equal(outcome.errorCode, Errors.OPERATION_INVALID.code);
        assert.match(outcome.message, /not an operation this replica can send/);
        assert.deepEqual(sent, [], 'never sent');
        assert.deepEqual(rejections, [], 'no unhandled rejection (the hub exits on one)');
      } finally {
        process.off('unhandledRejection', onRejection);
        await relay.stop();
        await store.close();
      }
    });
  },
  ['sqlite', 'postgres'],
);
