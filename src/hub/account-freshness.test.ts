import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accountFreshness, type FreshnessInputs } from './account-freshness.ts';

const NOW = 1_700_000_000_000;
const SECOND = 1000;

function inputs(overrides: Partial<FreshnessInputs>): FreshnessInputs {
  return { now: NOW, hubId: 'hub-a', accounts: [], lastCommitAt: () => undefined, cachingHeartbeatAt: () => undefined, ...overrides };
}

test("an account cached here is as fresh as its last commit or its session's last message, whichever is later", () => {
  const accounts = [
    { name: 'quiet', status: 'connected' as const, hubId: 'hub-a', lastSeenAt: NOW - 3600 * SECOND },
    { name: 'busy', status: 'connected' as const, hubId: 'hub-a', lastSeenAt: NOW - 3600 * SECOND },
  ];
  const commits = new Map([
    ['quiet', NOW - 600 * SECOND],
    ['busy', NOW - 1 * SECOND],
  ]);
  const freshness = accountFreshness(inputs({ accounts, lastCommitAt: (a) => commits.get(a), cachingHeartbeatAt: () => NOW - 5 * SECOND }));
  assert.deepEqual(
    [...freshness],
    [
      ['quiet', 5],
      ['busy', 1],
    ],
  );
});

test('an account nobody serves grows stale from when it was last served; one another replica serves is left to it', () => {
  const accounts = [
    { name: 'gone', status: 'disconnected' as const, hubId: null, lastSeenAt: NOW - 90 * SECOND },
    { name: 'gone-after-commit', status: 'disconnected' as const, hubId: null, lastSeenAt: NOW - 90 * SECOND },
    { name: 'unreachable-here', status: 'connected' as const, hubId: 'hub-a', lastSeenAt: NOW - 30 * SECOND },
    { name: 'elsewhere', status: 'connected' as const, hubId: 'hub-b', lastSeenAt: NOW - 30 * SECOND },
  ];
  const freshness = accountFreshness(inputs({ accounts, lastCommitAt: (a) => (a === 'gone-after-commit' ? NOW - 20 * SECOND : undefined) }));
  assert.deepEqual(
    [...freshness],
    [
      ['gone', 90],
      ['gone-after-commit', 20],
      ['unreachable-here', 30],
    ],
  );
});

test('a clock behind a recorded time reads as fresh, never negative', () => {
  const accounts = [{ name: 'a', status: 'connected' as const, hubId: 'hub-a', lastSeenAt: NOW }];
  assert.deepEqual([...accountFreshness(inputs({ accounts, cachingHeartbeatAt: () => NOW + SECOND }))], [['a', 0]]);
});
