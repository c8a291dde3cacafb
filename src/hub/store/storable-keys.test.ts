import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine } from '../../../test/support/databases.ts';
import { KEY_LENGTHS } from './schema.ts';
import type { SqlStore } from './sql-store.ts';
import { changeKeyProblem, feedChangeProblem, progressProblem, screenBatch } from './storable-keys.ts';
import { DEPLOYMENTS, accountRecord, upsert } from './testing/fixtures.ts';
import type { FeedInfo, StoreBatch } from './types.ts';

const NOW = 1_700_000_000_000;
const LONG_NAME = 'n'.repeat(KEY_LENGTHS.name + 1);

describe('storable keys', () => {
  test('feeds: no kind, keys too long, NUL, non-ASCII; a resume point does not need a kind', () => {
    assert.equal(feedChangeProblem(DEPLOYMENTS), undefined);
    assert.equal(feedChangeProblem({ ...DEPLOYMENTS, kind: '' }), 'feed has no kind');
    assert.equal(feedChangeProblem({ ...DEPLOYMENTS, kind: 'Cönfig' }), 'the feed kind holds characters that are not ASCII');
    assert.equal(
      feedChangeProblem({ ...DEPLOYMENTS, group: 'g'.repeat(KEY_LENGTHS.group + 1) }),
      `the feed group is ${KEY_LENGTHS.group + 1} characters, more than ${KEY_LENGTHS.group}`,
    );
    assert.equal(feedChangeProblem({ ...DEPLOYMENTS, resource: 'deploy\u0000ments' }), 'the feed resource holds a NUL character');
    assert.equal(progressProblem({ feed: { ...DEPLOYMENTS, kind: '' }, resourceVersion: '5' }), undefined);
    assert.equal(
      progressProblem({ feed: DEPLOYMENTS, resourceVersion: '9'.repeat(KEY_LENGTHS.resourceVersion + 1) }),
      `the progress resourceVersion is ${KEY_LENGTHS.resourceVersion + 1} characters, more than ${KEY_LENGTHS.resourceVersion}`,
    );
  });

  test('changes: each key of its type, named by the type; a key problem before a missing name', () => {
    assert.equal(changeKeyProblem(upsert(DEPLOYMENTS, 'web', 'a')), undefined);
    assert.equal(changeKeyProblem(upsert(DEPLOYMENTS, 'wéb', 'a')), 'upsert: the namespace holds characters that are not ASCII');
    assert.equal(changeKeyProblem({ type: 'upsert', feed: DEPLOYMENTS, namespace: 'web', name: '', uid: 'u', resourceVersion: '1' }), 'upsert without a name');
    assert.equal(
      changeKeyProblem({ type: 'upsert', feed: DEPLOYMENTS, namespace: 'n'.repeat(64), name: '', uid: 'u', resourceVersion: '1' }),
      'upsert: the namespace is 64 characters, more than 63',
    );
    assert.equal(changeKeyProblem({ type: 'delete', feed: DEPLOYMENTS, namespace: 'web', name: '' }), 'delete without a name');
    assert.equal(changeKeyProblem({ type: 'delete', feed: DEPLOYMENTS, namespace: 'web', name: 'a', uid: 'u\u0000' }), 'delete: the uid holds a NUL character');
    assert.equal(
      changeKeyProblem({ type: 'touch', feed: DEPLOYMENTS, namespace: 'web', name: LONG_NAME, resourceVersion: '1' }),
      `touch: the name is ${LONG_NAME.length} characters, more than ${KEY_LENGTHS.name}`,
    );
    assert.equal(
      changeKeyProblem({ type: 'snapshotBegin', feed: DEPLOYMENTS, snapshotId: 's'.repeat(KEY_LENGTHS.snapshotId + 1) }),
      `snapshotBegin: the snapshot id is ${KEY_LENGTHS.snapshotId + 1} characters, more than ${KEY_LENGTHS.snapshotId}`,
    );
    assert.equal(changeKeyProblem({ type: 'feedDropped', feed: DEPLOYMENTS, reason: 'gone\u0000' }), undefined);
  });

  test('screening keeps the order of what it holds and names what it rejects by its index', () => {
    const clean: StoreBatch = { account: 'k8s', changes: [upsert(DEPLOYMENTS, 'web', 'a')], progress: [{ feed: DEPLOYMENTS, resourceVersion: '1' }] };
    assert.equal(screenBatch(clean).held, clean);
    const noKind: FeedInfo = { ...DEPLOYMENTS, kind: '' };
    const { held, rejected } = screenBatch({
      account: 'k8s',
      changes: [
        upsert(DEPLOYMENTS, 'web', LONG_NAME),
        upsert(DEPLOYMENTS, 'web', 'b'),
        { type: 'snapshotBegin', feed: noKind, snapshotId: 's' },
        upsert(DEPLOYMENTS, 'web', 'c'),
      ],
      progress: [
        { feed: { ...DEPLOYMENTS, namespace: 'x'.repeat(KEY_LENGTHS.namespace + 1) }, resourceVersion: '1' },
        { feed: DEPLOYMENTS, resourceVersion: '2' },
      ],
    });
    assert.deepEqual(
      held.changes.map((c) => (c.type === 'upsert' ? c.name : c.type)),
      ['b', 'c'],
    );
    assert.deepEqual(
      held.progress.map((p) => p.resourceVersion),
      ['2'],
    );
    assert.deepEqual(
      rejected.map((r) => `${r.entry}[${r.index}]: ${r.reason}`),
      [
        `change[0]: upsert: the name is ${LONG_NAME.length} characters, more than ${KEY_LENGTHS.name}`,
        'change[2]: feed has no kind',
        `progress[0]: the feed namespace is ${KEY_LENGTHS.namespace + 1} characters, more than ${KEY_LENGTHS.namespace}`,
      ],
    );
  });

  test('what screening holds of a fenced batch is still fenced', () => {
    const { held, rejected } = screenBatch({
      account: 'k8s',
      changes: [upsert(DEPLOYMENTS, 'web', LONG_NAME), upsert(DEPLOYMENTS, 'web', 'b')],
      progress: [],
      fence: 7,
    });
    assert.equal(rejected.length, 1);
    assert.equal(held.fence, 7);
  });
});

forEachEngine('IngestStore: entries it cannot hold', (engine) => {
  let store: SqlStore;

  beforeEach(async () => {
    store = await engine.openStore();
    await store.upsertAccount(accountRecord('k8s'), NOW);
  });

  afterEach(async () => {
    await store.close();
  });

  test('are left out and reported; the rest of the batch commits on every engine', async () => {
    const outcome = await store.applyBatch(
      {
        account: 'k8s',
        changes: [
          upsert(DEPLOYMENTS, 'web', 'before'),
          upsert(DEPLOYMENTS, 'web', LONG_NAME),
          upsert(DEPLOYMENTS, 'wéb', 'accented'),
          upsert(DEPLOYMENTS, 'web', 'after'),
        ],
        progress: [{ feed: DEPLOYMENTS, resourceVersion: 'r'.repeat(KEY_LENGTHS.resourceVersion + 1) }],
      },
      NOW,
    );
    assert.equal(outcome.upserted, 2);
    assert.deepEqual(
      outcome.rejected.map((r) => [r.entry, r.index]),
      [
        ['change', 1],
        ['change', 2],
        ['progress', 0],
      ],
    );
    assert.deepEqual(
      (await store.listObjects({ account: 'k8s' })).map((o) => o.name),
      ['after', 'before'],
    );
    assert.deepEqual(await store.resumePoints('k8s'), []);
  });
});
