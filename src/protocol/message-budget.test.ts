import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, toBinary } from '@bufbuild/protobuf';
import { isScaleAgentError } from '../common/errors.ts';
import { AgentMessageSchema } from './gen/scaleagent/v1/agent_hub_pb.ts';
import { checkMessageBudget } from './message-budget.ts';

const hello = (accounts: number, kindsEach: number) =>
  toBinary(
    AgentMessageSchema,
    create(AgentMessageSchema, {
      kind: {
        case: 'hello',
        value: {
          agentId: 'a',
          protocolVersion: 1,
          accounts: Array.from({ length: accounts }, (_, i) => ({
            name: `account-${i}`,
            kinds: Array.from({ length: kindsEach }, (_, k) => ({
              group: 'apps',
              version: 'v1',
              kind: `Kind${k}`,
              resource: `kind${k}s`,
              namespaced: true,
              watchable: true,
            })),
            properties: { environment: 'prod' },
          })),
        },
      },
    }),
  );

test('a message within its budget passes; one with too many elements or too many entries in one list is refused naming the field', () => {
  checkMessageBudget(AgentMessageSchema, hello(100, 60), { maxElements: 10_000, maxRepeated: 1_000 });
  assert.throws(
    () => checkMessageBudget(AgentMessageSchema, hello(100, 60), { maxElements: 5_000, maxRepeated: 1_000 }),
    (err: unknown) =>
      isScaleAgentError(err) && err.code === 'PROTOCOL_VIOLATION' && /more than 5000 elements \(at AgentMessage\.hello\.accounts\.kinds\)/.test(err.message),
  );
  assert.throws(
    () => checkMessageBudget(AgentMessageSchema, hello(2, 200), { maxElements: 10_000, maxRepeated: 100 }),
    (err: unknown) => isScaleAgentError(err) && /AgentMessage\.hello\.accounts\.kinds has more than 100 entries/.test(err.message),
  );
  // Four million empty accounts in 8 MiB: refused from the wire bytes, without decoding them.
  const bomb = new Uint8Array(2 + 4 + 8_000_000);
  bomb.set([0x0a, 0x80, 0xa4, 0xe8, 0x03], 0); // field 1, length 8,000,000
  for (let i = 5; i < 5 + 8_000_000; i += 2) bomb[i] = 0x22;
  assert.throws(
    () => checkMessageBudget(AgentMessageSchema, bomb.subarray(0, 5 + 8_000_000), { maxElements: 250_000, maxRepeated: 50_000 }),
    /more than 50000 entries/,
  );
  // Malformed bytes are refused as decoding would refuse them.
  assert.throws(() => checkMessageBudget(AgentMessageSchema, new Uint8Array([0x0a, 0x05, 0x22]), { maxElements: 10, maxRepeated: 10 }), /malformed/);
});
