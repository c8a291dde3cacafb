import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { isScaleAgentError } from '../common/errors.ts';
import { SharedSyncRequestSchema, SyncRequestSchema, type SyncRequest } from './gen/scaleagent/v1/agent_hub_pb.ts';
import { decodeSharedSyncRequest, encodeSharedSyncRequest, MAX_CHANNEL_REQUESTS_PER_MESSAGE } from './shared-sync-codec.ts';

const open: SyncRequest = create(SyncRequestSchema, { kind: { case: 'open', value: { sessionId: 's-1', account: 'prod-ü' } } });
const batch: SyncRequest = create(SyncRequestSchema, {
  kind: {
    case: 'batch',
    value: {
      seq: 7n,
      feeds: [{ group: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments', namespaced: true }],
      changes: [
        {
          feed: 0,
          kind: { case: 'upsert', value: { namespace: 'ns', name: 'web', uid: 'u', resourceVersion: '12', object: new TextEncoder().encode('{"a":1}') } },
        },
      ],
      progress: [{ feed: 0, resourceVersion: '12' }],
    },
  },
});

test('the envelope the agent writes is what protobuf-es reads, and the hub decodes what protobuf-es writes', () => {
  const parts = [
    { channel: 1, request: toBinary(SyncRequestSchema, open) },
    { channel: 300, request: toBinary(SyncRequestSchema, batch) },
    { channel: 2, close: true },
  ];
  const bytes = encodeSharedSyncRequest(parts);
  const expected = create(SharedSyncRequestSchema, {
    requests: [
      { channel: 1, request: open },
      { channel: 300, request: batch },
      { channel: 2, close: true },
    ],
  });
  assert.deepEqual(fromBinary(SharedSyncRequestSchema, new Uint8Array(bytes)), expected);
  assert.deepEqual(Buffer.from(bytes), Buffer.from(toBinary(SharedSyncRequestSchema, expected)));
  // The hand-written decoder returns bytes fields as Buffer views: compare what it decoded by re-encoding.
  const decoded = decodeSharedSyncRequest(toBinary(SharedSyncRequestSchema, expected));
  assert.deepEqual(
    decoded.requests.map((r) => [r.channel, r.close, r.request?.kind.case]),
    [
      [1, false, 'open'],
      [300, false, 'batch'],
      [2, true, undefined],
    ],
  );
  assert.deepEqual(Buffer.from(toBinary(SharedSyncRequestSchema, decoded)), Buffer.from(bytes));
});

test('more channel requests than one message may hold, or a truncated one, fail with PROTOCOL_VIOLATION', () => {
  const tooMany = encodeSharedSyncRequest(Array.from({ length: MAX_CHANNEL_REQUESTS_PER_MESSAGE + 1 }, (_, i) => ({ channel: i + 1, close: true })));
  assert.throws(
    () => decodeSharedSyncRequest(tooMany),
    (err) => isScaleAgentError(err, 'PROTOCOL_VIOLATION') && /more than 20000 channel requests/.test(String(err)),
  );
  const whole = encodeSharedSyncRequest([{ channel: 1, request: toBinary(SyncRequestSchema, batch) }]);
  assert.throws(
    () => decodeSharedSyncRequest(whole.subarray(0, whole.length - 3)),
    (err) => isScaleAgentError(err, 'PROTOCOL_VIOLATION'),
  );
});
