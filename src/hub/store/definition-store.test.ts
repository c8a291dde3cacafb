// AccountDefinitionStore on every engine: create refuses a taken name, updates count revisions (and
// compare-and-set), deletes can be conditional, and the version moves on every kind of change.
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine } from '../../../test/support/databases.ts';
import { KEY_LENGTHS } from './schema.ts';
import type { SqlStore } from './sql-store.ts';
import type { AccountDefinitionWrite } from './types.ts';

const NOW = 1_700_000_000_000;

function definition(name: string, extra: Partial<AccountDefinitionWrite> = {}): AccountDefinitionWrite {
  return { name, definition: JSON.stringify({ kubeconfigFile: `/kube/${name}`, name }), zoneId: null, desiredState: 'active', ...extra };
}

forEachEngine('AccountDefinitionStore', (engine) => {
  let store: SqlStore;

  beforeEach(async () => {
    store = await engine.openStore();
  });

  afterEach(async () => {
    await store.close();
  });

  test('a definition is created at revision 1 and read back as written; a second create of the name is refused and changes nothing', async () => {
    assert.equal(await store.createDefinition(definition('prod', { zoneId: 'eu-1' }), 'user:ann', NOW), true);
    const expected = {
      ...definition('prod', { zoneId: 'eu-1' }),
      revision: 1,
      createdAt: NOW,
      createdBy: 'user:ann',
      updatedAt: NOW,
      updatedBy: 'user:ann',
    };
    assert.deepEqual(await store.getDefinition('prod'), expected);
    assert.equal(await store.createDefinition(definition('prod', { desiredState: 'inactive' }), 'user:bob', NOW + 1), false);
    assert.deepEqual(await store.getDefinition('prod'), expected);
    assert.equal(await store.getDefinition('nope'), undefined);
  });

  test('an update replaces content, zone and state and counts the revision; with expectRevision it is a compare-and-set', async () => {
    await store.createDefinition(definition('prod'), 'user:ann', NOW);
    const changed = definition('prod', { definition: '{"kubeconfigFile":"/other","name":"prod"}', zoneId: 'us-1', desiredState: 'inactive' });
    assert.equal(await store.updateDefinition(changed, 'user:bob', NOW + 5), true);
    assert.deepEqual(await store.getDefinition('prod'), {
      ...changed,
      revision: 2,
      createdAt: NOW,
      createdBy: 'user:ann',
      updatedAt: NOW + 5,
      updatedBy: 'user:bob',
    });
    // The same values again still count as a change (the caller decides what is unchanged).
    assert.equal(await store.updateDefinition(changed, 'user:bob', NOW + 6), true);
    assert.equal((await store.getDefinition('prod'))?.revision, 3);
    assert.equal(await store.updateDefinition({ ...changed, zoneId: null }, 'user:bob', NOW + 7, 2), false, 'a stale revision is refused');
    assert.equal((await store.getDefinition('prod'))?.zoneId, 'us-1');
    assert.equal(await store.updateDefinition({ ...changed, zoneId: null }, 'user:bob', NOW + 7, 3), true);
    assert.equal((await store.getDefinition('prod'))?.zoneId, null);
    assert.equal(await store.updateDefinition(definition('missing'), 'user:bob', NOW), false);
  });

  test('definitions are listed by name; a conditional delete removes a row only in that state', async () => {
    for (const name of ['c', 'a', 'b']) await store.createDefinition(definition(name), 'anonymous', NOW);
    assert.deepEqual(
      (await store.listDefinitions()).map((d) => d.name),
      ['a', 'b', 'c'],
    );
    assert.equal(await store.deleteDefinition('a', 'deleting'), false);
    await store.updateDefinition(definition('a', { desiredState: 'deleting' }), 'anonymous', NOW + 1);
    assert.equal(await store.deleteDefinition('a', 'deleting'), true);
    assert.equal(await store.deleteDefinition('b'), true);
    assert.equal(await store.deleteDefinition('b'), false);
    assert.deepEqual(
      (await store.listDefinitions()).map((d) => d.name),
      ['c'],
    );
  });

  test('the version moves on a create, an update, a delete, and a delete followed by a create of the same name', async () => {
    const versions = [await store.definitionsVersion()];
    const moved = async (what: string) => {
      const version = await store.definitionsVersion();
      assert.ok(!versions.includes(version), `${what}: version ${version} was seen before (${versions.join(', ')})`);
      versions.push(version);
    };
    await store.createDefinition(definition('a'), 'anonymous', NOW);
    await moved('create');
    await store.updateDefinition(definition('a', { zoneId: 'z' }), 'anonymous', NOW);
    await moved('update at the same millisecond');
    await store.createDefinition(definition('b'), 'anonymous', NOW + 1);
    await moved('second create');
    await store.deleteDefinition('a');
    await moved('delete');
    await store.deleteDefinition('b');
    await store.createDefinition(definition('b'), 'anonymous', NOW + 2);
    await moved('delete then create');
    // Another replica, its clock behind, replaces one definition by another: same count, revisions and latest update.
    await store.createDefinition(definition('c'), 'anonymous', NOW + 1);
    await moved('create at a lagging replica');
    await store.deleteDefinition('c');
    await store.createDefinition(definition('d'), 'anonymous', NOW + 1);
    await moved('one definition replaced by another, at the same millisecond');
    assert.equal(await store.definitionsVersion(), versions.at(-1), 'no change, same version');
  });

  test('an author name longer than its column is cut, not refused', async () => {
    const long = `user:${'x'.repeat(KEY_LENGTHS.createdBy)}`;
    assert.equal(await store.createDefinition(definition('prod'), long, NOW), true);
    assert.equal((await store.getDefinition('prod'))?.createdBy, long.slice(0, KEY_LENGTHS.createdBy));
  });
});
