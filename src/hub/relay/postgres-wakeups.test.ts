// PostgresWakeups against a real PostgreSQL: replicas on one database hear each other's NOTIFYs, a
// LISTEN connection killed by the server comes back (and says events may have been missed), and close()
// leaves nothing behind. Each suite has a database of its own, so the relay connections counted in
// pg_stat_activity are this file's.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { forEachEngine } from '../../../test/support/databases.ts';
import { waitFor } from '../../common/time.ts';
import { BACKSTOP_POLL_FACTOR, PostgresWakeups, RELAY_CHANNEL } from './postgres-wakeups.ts';
import type { RelayEvent } from './relay-wakeups.ts';
import { capturingLogger } from './testing/capturing-logger.ts';

const APPLICATION_NAME = 'scale-agent-hub-relay';
const RECONNECTING = 'the relay LISTEN connection to PostgreSQL failed; reconnecting';
const WAIT = { timeoutMs: 10_000, intervalMs: 10 };

interface Listener {
  wakeups: PostgresWakeups;
  events: RelayEvent[];
  gaps: () => number;
  log: ReturnType<typeof capturingLogger>;
  start: () => Promise<void>;
}

function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
}

forEachEngine(
  'PostgresWakeups',
  (engine) => {
    let admin: pg.Client;
    let opened: PostgresWakeups[];

    beforeEach(async () => {
      admin = new pg.Client({ connectionString: engine.url });
      admin.on('error', () => {});
      await admin.connect();
      opened = [];
    });

    afterEach(async () => {
      for (const w of opened) await w.close();
      await admin.end();
    });

    function listener(connectionString = engine.url): Listener {
      const log = capturingLogger();
      const events: RelayEvent[] = [];
      let gaps = 0;
      const wakeups = new PostgresWakeups({ connectionString, pollIntervalMs: 100, connectTimeoutMs: 5000, logger: log.logger });
      opened.push(wakeups);
      return {
        wakeups,
        events,
        gaps: () => gaps,
        log,
        start: () =>
          wakeups.start(
            (event) => events.push(event),
            () => gaps++,
          ),
      };
    }

    async function relayConnections(): Promise<number> {
      const result = await admin.query<{ n: number }>(
        'select count(*)::int as n from pg_stat_activity where application_name = $1 and datname = current_database()',
        [APPLICATION_NAME],
      );
      return result.rows[0]?.n ?? -1;
    }

    /** Kills every relay LISTEN connection to this database, as a server restart or failover does; how many. */
    async function killRelayConnections(): Promise<number> {
      const result = await admin.query<{ n: number }>(
        'select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where application_name = $1 and datname = current_database()',
        [APPLICATION_NAME],
      );
      return result.rows[0]?.n ?? -1;
    }

    test("two replicas on one database hear each other's events, their own included; other payloads are dropped", async () => {
      const one = listener();
      const two = listener();
      await one.start();
      await two.start();
      assert.equal(one.wakeups.pollIntervalMs, 100 * BACKSTOP_POLL_FACTOR);
      assert.equal(one.gaps(), 1, 'a first connection is a gap too: events before it were never heard');
      assert.equal(two.gaps(), 1);
      assert.equal(await relayConnections(), 2);

      const queued: RelayEvent = { kind: 'queued', id: 'op-1', account: 'prod-east' };
      await one.wakeups.publish(queued);
      await waitFor(() => one.events.length === 1 && two.events.length === 1, { ...WAIT, what: 'the queued event' });
      const done: RelayEvent = { kind: 'done', id: 'op-1', originHubId: 'hub-a' };
      await two.wakeups.publish(done);
      await waitFor(() => one.events.length === 2 && two.events.length === 2, { ...WAIT, what: 'the done event' });

      // Any client of the database may notify the channel; one session's notifications arrive in order,
      // so by the time the last (valid) one is heard, the ones before it were dropped.
      for (const payload of ['wake up', '{"q":1,"a":"prod-east"}', '[]', '{"d":"op-2","o":""}'])
        await admin.query('select pg_notify($1, $2)', [RELAY_CHANNEL, payload]);
      await admin.query('select pg_notify($1, $2)', [RELAY_CHANNEL, '{"d":"op-3","o":"hub-c"}']);
      const last: RelayEvent = { kind: 'done', id: 'op-3', originHubId: 'hub-c' };
      await waitFor(() => one.events.length >= 3 && two.events.length >= 3, { ...WAIT, what: "the admin's valid event" });
      assert.deepEqual(one.events, [queued, done, last]);
      assert.deepEqual(two.events, [queued, done, last]);
    });

    test('a LISTEN connection killed by the server is reopened, onGap runs, and events flow again', async () => {
      const one = listener();
      const two = listener();
      await one.start();
      await two.start();
      assert.equal(await killRelayConnections(), 2);

      await waitFor(() => one.gaps() === 2 && two.gaps() === 2, { ...WAIT, what: 'both to reconnect' });
      assert.ok(one.log.has(RECONNECTING));
      assert.ok(two.log.has(RECONNECTING));
      // A terminated backend may linger in pg_stat_activity for a moment.
      await waitFor(async () => (await relayConnections()) === 2, { ...WAIT, what: 'two relay connections again' });

      const queued: RelayEvent = { kind: 'queued', id: 'op-9', account: 'prod-east' };
      await two.wakeups.publish(queued);
      await waitFor(() => one.events.length === 1 && two.events.length === 1, { ...WAIT, what: 'the event after reconnecting' });
      assert.deepEqual(one.events, [queued]);
    });

    test('close() ends the connection and leaves no handle open; publishing afterwards does nothing', async () => {
      const baseline = tcpHandles();
      const one = listener();
      await one.start();
      assert.equal(await relayConnections(), 1);
      assert.equal(tcpHandles(), baseline + 1);

      await one.wakeups.close();
      await waitFor(() => tcpHandles() === baseline, { ...WAIT, what: 'the socket to close' });
      await waitFor(async () => (await relayConnections()) === 0, { ...WAIT, what: 'the server to see the connection gone' });
      await one.wakeups.publish({ kind: 'queued', id: 'op-1', account: 'prod-east' });
      assert.deepEqual(one.events, []);
    });

    test('close() during the reconnection backoff: the connection never comes back', async () => {
      const baseline = tcpHandles();
      const closing = listener();
      const control = listener();
      await closing.start();
      await control.start();
      assert.equal(await killRelayConnections(), 2);
      await waitFor(() => closing.log.has(RECONNECTING), { ...WAIT, what: 'the connection to be found lost' });
      await closing.wakeups.close();

      // Every reconnection waits at least 160 ms (200 ms less 20 % jitter) and the closed one would have
      // come back within 240 ms: two reconnections of the control, killed at the same moment, outlast it.
      await waitFor(() => control.gaps() === 2, { ...WAIT, what: 'the control to reconnect' });
      await waitFor(async () => (await relayConnections()) === 1, { ...WAIT, what: 'the killed backends to be gone' });
      assert.equal(await killRelayConnections(), 1);
      await waitFor(() => control.gaps() === 3, { ...WAIT, what: 'the control to reconnect again' });

      await waitFor(async () => (await relayConnections()) === 1, { ...WAIT, what: "only the control's connection" });
      assert.equal(closing.gaps(), 1);
      await control.wakeups.close();
      await waitFor(() => tcpHandles() === baseline, { ...WAIT, what: 'every relay socket to close' });
    });

    test('a first connection that fails does not fail start(); it is retried in the background until close()', async () => {
      // Port 1 on the loopback refuses at once.
      const unreachable = listener('postgres://postgres@127.0.0.1:1/postgres');
      await unreachable.start();
      await waitFor(() => unreachable.log.lines.filter((l) => l.msg.includes(RECONNECTING)).length >= 2, { ...WAIT, what: 'a second attempt' });
      assert.equal(unreachable.gaps(), 0);
      await unreachable.wakeups.close();
    });
  },
  ['postgres'],
);
