import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CACHE_CHECK_OVERDUE_MS, cacheView } from './credentials-view.ts';
import type { FeedDigestState } from '../../store/types.ts';

const NOW = 1_800_000_000_000;
const feed = (kind: string, state: Partial<FeedDigestState>): FeedDigestState => ({
  group: 'apps',
  kind,
  namespace: '',
  checkedAt: null,
  divergedSince: null,
  divergences: 0,
  dueSince: null,
  ...state,
});

test('the cache view: diverged before overdue before matching; a feed awaited since a reconnect is overdue only past the bound', () => {
  const matched = feed('Deployment', { checkedAt: NOW - 1000 });
  assert.equal(cacheView([matched], NOW).status, 'matching');
  assert.equal(cacheView([], NOW).status, 'unchecked');
  const awaited = feed('StatefulSet', { dueSince: NOW - CACHE_CHECK_OVERDUE_MS });
  assert.equal(cacheView([matched, awaited], NOW).status, 'matching', 'within the bound');
  const late = cacheView([matched, awaited], NOW + 1);
  assert.equal(late.status, 'overdue');
  assert.deepEqual(late.overdue, [{ group: 'apps', kind: 'StatefulSet', namespace: '', since: NOW - CACHE_CHECK_OVERDUE_MS }]);
  const differing = feed('DaemonSet', { checkedAt: NOW, divergedSince: NOW - 5, divergences: 1, dueSince: NOW - 2 * CACHE_CHECK_OVERDUE_MS });
  const view = cacheView([matched, awaited, differing], NOW + 1);
  assert.equal(view.status, 'diverged');
  assert.deepEqual(
    view.overdue.map((o) => o.kind),
    ['StatefulSet'],
    'a diverged feed is listed as diverged, not overdue',
  );
});
