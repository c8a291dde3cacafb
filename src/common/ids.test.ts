import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ulid } from './ids.ts';

const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

describe('ulid', () => {
  it('is 26 Crockford base-32 characters that sort by time', () => {
    const earlier = ulid(1_700_000_000_000);
    const later = ulid(1_700_000_000_001);
    assert.match(earlier, ULID_PATTERN);
    assert.ok(earlier < later);
    assert.equal(ulid(0).slice(0, 10), '0000000000');
  });

  it('draws fresh random bits for every id, across many refills of its pool', () => {
    const IDS = 5_000; // 50,000 random bytes: a dozen refills of the 4 KiB pool
    const now = Date.now();
    const randoms = new Set<string>();
    for (let i = 0; i < IDS; i++) {
      const id = ulid(now);
      assert.match(id, ULID_PATTERN);
      randoms.add(id.slice(10));
    }
    assert.equal(randoms.size, IDS);
  });
});
