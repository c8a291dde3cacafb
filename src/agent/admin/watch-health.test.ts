import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReflectorStatus } from '../../kube/reflector.ts';
import { freshnessSeconds, stuckReason, unmatchedReason } from './watch-health.ts';

const SECOND = 1000;
const BOUNDS = { stuckMs: 300 * SECOND, stallTimeoutMs: 900 * SECOND };
const T0 = 1_700_000_000_000;

function status(overrides: Partial<ReflectorStatus>): ReflectorStatus {
  return { state: 'watching', stateSince: T0, relists: 1, watchRestarts: 0, errors: 0, ...overrides };
}

describe('stuckReason (fake clock)', () => {
  it('a watch with recent events or bookmarks is healthy; one silent past stall timeout + bound is stuck', () => {
    const s = status({ lastProgressAt: T0 + 10 * SECOND });
    assert.equal(stuckReason(s, T0 + 60 * SECOND, BOUNDS), undefined);
    assert.equal(stuckReason(s, T0 + 10 * SECOND + BOUNDS.stallTimeoutMs + BOUNDS.stuckMs, BOUNDS), undefined, 'exactly at the bound is not past it');
    assert.match(
      stuckReason(s, T0 + 10 * SECOND + BOUNDS.stallTimeoutMs + BOUNDS.stuckMs + 1, BOUNDS) ?? '',
      /watching with no event, bookmark or watch renewal for 1200 s/,
    );
  });

  it('a watch that only just started is measured from its start, not from old progress', () => {
    const s = status({ stateSince: T0 + 2000 * SECOND, lastProgressAt: T0 });
    assert.equal(stuckReason(s, T0 + 2100 * SECOND, BOUNDS), undefined);
  });

  it('failing without progress is stuck after the bound, whichever attempt is under way', () => {
    const failing = { failingSince: T0, lastError: { message: '500 InternalError', at: T0 + 200 * SECOND } };
    for (const state of ['backoff', 'listing', 'watching'] as const) {
      const s = status({ ...failing, state, stateSince: T0 + 290 * SECOND, lastListPageAt: T0 + 299 * SECOND });
      assert.equal(stuckReason(s, T0 + 299 * SECOND, BOUNDS), undefined, state);
      assert.match(stuckReason(s, T0 + 301 * SECOND, BOUNDS) ?? '', /failing for 301 s without progress: 500 InternalError/, state);
    }
  });

  it('a long list is healthy while pages arrive, stuck when they stop', () => {
    const s = status({ state: 'listing', stateSince: T0, lastListPageAt: T0 + 280 * SECOND });
    assert.equal(stuckReason(s, T0 + 500 * SECOND, BOUNDS), undefined);
    assert.match(stuckReason(s, T0 + 581 * SECOND, BOUNDS) ?? '', /listing with no page for 301 s/);
    assert.ok(stuckReason(status({ state: 'listing', stateSince: T0 }), T0 + 301 * SECOND, BOUNDS));
  });

  it('queued, forbidden and stopped reflectors are never stuck', () => {
    const old = { stateSince: T0, lastProgressAt: T0, failingSince: T0 };
    for (const state of ['queued', 'forbidden', 'stopped'] as const) {
      assert.equal(stuckReason(status({ ...old, state }), T0 + 100_000 * SECOND, BOUNDS), undefined, state);
    }
  });
});

describe('freshnessSeconds', () => {
  it('is the age of the last progress, undefined before any', () => {
    assert.equal(freshnessSeconds(status({}), T0), undefined);
    assert.equal(freshnessSeconds(status({ lastProgressAt: T0 }), T0 + 2500), 2.5);
  });

  it('is 0 while an accepted watch is open within its deadline, however quiet; the age of progress after', () => {
    const open = status({ lastProgressAt: T0, watchOpenUntil: T0 + 630 * SECOND });
    assert.equal(freshnessSeconds(open, T0 + 600 * SECOND), 0);
    assert.equal(freshnessSeconds(open, T0 + 631 * SECOND), 631, 'a watch the server never ended is not fresh');
    assert.equal(freshnessSeconds({ ...open, state: 'backoff' }, T0 + 10 * SECOND), 10);
  });
});

describe('unmatchedReason (fake clock)', () => {
  it('a feed whose digest has not matched since the reconnect is unhealthy past the bound, unless it is still listing or verifying or cannot be compared', () => {
    const since = { unmatchedSince: T0 };
    assert.equal(unmatchedReason(since, status({}), T0 + BOUNDS.stuckMs, BOUNDS.stuckMs), undefined, 'exactly at the bound is not past it');
    assert.match(
      unmatchedReason(since, status({}), T0 + BOUNDS.stuckMs + 1, BOUNDS.stuckMs) ?? '',
      /no digest has matched the hub's copy since the reconnect 300 s ago/,
    );
    assert.equal(unmatchedReason({}, status({}), T0 + 10 * BOUNDS.stuckMs, BOUNDS.stuckMs), undefined, 'matched');
    assert.equal(unmatchedReason({ ...since, verifying: true }, status({}), T0 + 10 * BOUNDS.stuckMs, BOUNDS.stuckMs), undefined);
    assert.equal(
      unmatchedReason({ ...since, unverifiable: 'resourceVersions that cannot be ordered' }, status({}), T0 + 10 * BOUNDS.stuckMs, BOUNDS.stuckMs),
      undefined,
    );
    for (const state of ['listing', 'queued', 'backoff', 'forbidden'] as const) {
      assert.equal(unmatchedReason(since, status({ state }), T0 + 10 * BOUNDS.stuckMs, BOUNDS.stuckMs), undefined, state);
    }
  });
});
