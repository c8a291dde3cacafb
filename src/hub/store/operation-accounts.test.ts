// listOperations narrowed to a list of accounts in the query (what a caller may READ): the newest operations
// of those accounts, even when every recent operation hub-wide is another account's; an empty list is none;
// a list longer than one statement binds runs in chunks whose newest are merged. On every engine.
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine } from '../../../test/support/databases.ts';
import type { SqlStore } from './sql-store.ts';
import { OPERATION_ACCOUNTS_PER_QUERY } from './sql-task-store.ts';
import type { OperationRecord } from './types.ts';
import { operationRecord } from './testing/fixtures.ts';

const NOW = 1_700_000_000_000;
/** More than a page of the status page's operations (25), all newer than the quiet accounts' own. */
const BUSY_OPERATIONS = 40;

function operation(id: string, account: string, receivedAt: number, type = 'apply'): OperationRecord {
  return operationRecord(id, account, receivedAt, { type });
}

forEachEngine('Store: operations of a list of accounts', (engine) => {
  let store: SqlStore;

  beforeEach(async () => {
    store = await engine.openStore();
    await store.recordOperation(operation('quiet-1', 'quiet', NOW));
    await store.recordOperation(operation('quiet-2', 'quiet', NOW + 1, 'delete'));
    await store.recordOperation(operation('other-1', 'other', NOW + 2));
    for (let i = 0; i < BUSY_OPERATIONS; i++) await store.recordOperation(operation(`busy-${String(i).padStart(2, '0')}`, 'busy', NOW + 10 + i));
  });

  afterEach(async () => {
    await store.close();
  });

  const ids = (ops: OperationRecord[]) => ops.map((o) => o.id);

  test('the newest operations of the accounts given, not the newest hub-wide with the others dropped', async () => {
    assert.deepEqual(ids(await store.listOperations(25, { accounts: ['quiet'] })), ['quiet-2', 'quiet-1']);
    assert.deepEqual(ids(await store.listOperations(2, { accounts: ['other', 'quiet', 'quiet'] })), ['other-1', 'quiet-2']);
    assert.deepEqual(ids(await store.listOperations(25, { accounts: ['quiet'], type: 'apply' })), ['quiet-1'], 'with the other filters');
    assert.deepEqual(await store.listOperations(25, { accounts: [] }), [], 'no account: no operation');
    assert.deepEqual(await store.listOperations(25, { accounts: ['nobody'] }), []);
    const unfiltered = await store.listOperations(25);
    assert.equal(unfiltered.length, 25);
    assert.ok(
      unfiltered.every((o) => o.account === 'busy'),
      'without the list, the newest hub-wide',
    );
  });

  test('a list longer than one statement binds: chunks whose newest are merged, newest first', async () => {
    const filler = Array.from({ length: OPERATION_ACCOUNTS_PER_QUERY * 2 }, (_, i) => `filler-${i}`);
    // quiet in the first chunk, other in the last one.
    const accounts = ['quiet', ...filler, 'other'];
    assert.deepEqual(ids(await store.listOperations(25, { accounts })), ['other-1', 'quiet-2', 'quiet-1']);
    assert.deepEqual(ids(await store.listOperations(2, { accounts: [...accounts, 'busy'] })), ['busy-39', 'busy-38']);
  });
});
