// The relay's NOTIFY payloads: every event the relay sends reads back as itself, and since the channel is
// open to every client of the database, anything else reads as nothing rather than as a wrong event.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KEY_LENGTHS } from '../store/schema.ts';
import { decodeRelayEvent, encodeRelayEvent, PollingWakeups, type RelayEvent, type RelayWakeups } from './relay-wakeups.ts';

/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more. */
const NOTIFY_PAYLOAD_LIMIT_BYTES = 8000;
const MAX_FIELD = 512;

describe('relay events', () => {
  test('queued and done events read back as themselves', () => {
    const events: RelayEvent[] = [
      { kind: 'queued', id: '01JABCDEF0123456789XYZ', account: 'prod-east' },
      { kind: 'done', id: '01JABCDEF0123456789XYZ', originHubId: 'hub-0.scale-agent.svc' },
      { kind: 'queued', id: 'x', account: 'größe-日本-🚀 "quoted" \\ back' },
      { kind: 'done', id: 'a'.repeat(MAX_FIELD), originHubId: 'h'.repeat(MAX_FIELD) },
    ];
    for (const event of events) assert.deepEqual(decodeRelayEvent(encodeRelayEvent(event)), event);
  });

  test('the longest ids, accounts and hub ids the store holds fit one NOTIFY and read back', () => {
    const events: RelayEvent[] = [
      { kind: 'queued', id: 'i'.repeat(KEY_LENGTHS.id), account: 'a'.repeat(KEY_LENGTHS.account) },
      { kind: 'done', id: 'i'.repeat(KEY_LENGTHS.id), originHubId: 'h'.repeat(KEY_LENGTHS.hubId) },
      { kind: 'queued', id: '日'.repeat(KEY_LENGTHS.id), account: '🚀'.repeat(KEY_LENGTHS.account / 2) },
    ];
    for (const event of events) {
      const payload = encodeRelayEvent(event);
      assert.ok(Buffer.byteLength(payload, 'utf8') < NOTIFY_PAYLOAD_LIMIT_BYTES);
      assert.deepEqual(decodeRelayEvent(payload), event);
    }
  });

  test('extra fields are ignored', () => {
    assert.deepEqual(decodeRelayEvent('{"q":"op-1","a":"prod","v":2}'), { kind: 'queued', id: 'op-1', account: 'prod' });
  });

  test('payloads that are not events read as nothing', () => {
    const hostile: Array<[string, string | undefined]> = [
      ['no payload', undefined],
      ['empty', ''],
      ['not JSON', 'wake up'],
      ['truncated JSON', '{"q":"op-1","a":"pr'],
      ['null', 'null'],
      ['a number', '42'],
      ['a string', '"q"'],
      ['a boolean', 'true'],
      ['an empty array', '[]'],
      ['an array of the fields', '["op-1","prod"]'],
      ['an empty object', '{}'],
      ['only an id', '{"q":"op-1"}'],
      ['only an origin', '{"o":"hub-a"}'],
      ['an id of the wrong type', '{"q":1,"a":"prod"}'],
      ['an account of the wrong type', '{"q":"op-1","a":["prod"]}'],
      ['a null account', '{"q":"op-1","a":null}'],
      ['an object origin', '{"d":"op-1","o":{"hub":"a"}}'],
      ['an empty id', '{"q":"","a":"prod"}'],
      ['an empty account', '{"q":"op-1","a":""}'],
      ['an empty origin', '{"d":"op-1","o":""}'],
      ['an id one over the limit', JSON.stringify({ q: 'i'.repeat(MAX_FIELD + 1), a: 'prod' })],
      ['an origin one over the limit', JSON.stringify({ d: 'op-1', o: 'h'.repeat(MAX_FIELD + 1) })],
      ['the fields under __proto__', '{"__proto__":{"q":"op-1","a":"prod"}}'],
      ['mixed halves of both kinds', '{"q":"op-1","o":"hub-a"}'],
    ];
    for (const [what, payload] of hostile) assert.equal(decodeRelayEvent(payload), undefined, what);
  });

  test('an oversized payload reads as nothing, even when its fields would do', () => {
    assert.equal(decodeRelayEvent(JSON.stringify({ q: 'op-1', a: 'prod', pad: 'x'.repeat(4 * MAX_FIELD) })), undefined);
    assert.equal(decodeRelayEvent(`{"q":"op-1","a":"prod","pad":"${'x'.repeat(1 << 20)}"}`), undefined);
    assert.equal(decodeRelayEvent(`${'['.repeat(100_000)}${']'.repeat(100_000)}`), undefined);
  });
});

describe('PollingWakeups', () => {
  test('keeps the configured poll interval and hears nothing (MySQL has no notifications)', async () => {
    const wakeups: RelayWakeups = new PollingWakeups(100);
    assert.equal(wakeups.pollIntervalMs, 100);
    const heard: string[] = [];
    await wakeups.start(
      (event) => heard.push(event.kind),
      () => heard.push('gap'),
    );
    await wakeups.publish({ kind: 'queued', id: 'op-1', account: 'prod' });
    await wakeups.close();
    // Its methods do nothing at all, so nothing can arrive later either.
    assert.deepEqual(heard, []);
  });
});
