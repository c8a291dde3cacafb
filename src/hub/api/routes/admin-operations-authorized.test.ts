// The operations a caller lists (GET /admin/operations, the status page) are narrowed by AuthorizedStore to
// the accounts they may READ in the store's query: a caller of a quiet account sees its operations even when every recent
// one hub-wide is another account's; a caller who may read every account is not narrowed at all.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { parseConfig } from '../../../common/config.ts';
import { silentLogger } from '../../../common/logger.ts';
import { authConfigSchema } from '../../auth/auth-config.ts';
import { createRestAuth } from '../../auth/rest-auth.ts';
import { openStore } from '../../store/open-store.ts';
import type { SqlStore } from '../../store/sql-store.ts';
import { accountRecord, operationRecord } from '../../store/testing/fixtures.ts';
import type { OperationFilter, OperationRecord } from '../../store/types.ts';
import { FakeRouter } from '../testing/fake-router.ts';
import { buildApiServer } from '../server.ts';

type Json = any;

const NOW = 1_700_000_000_000;
/** More than GET /admin/operations lists by default (100), all newer than the quiet account's. */
const BUSY_OPERATIONS = 150;
const TOKENS = { lead: 'lead-token-0123456789abcdef', root: 'root-token-0123456789abcdef' };
const AUTH = {
  enabled: true,
  adminRoles: ['admins'],
  tokens: [
    { token: TOKENS.lead, user: 'lead', roles: ['admins', 'dev'] }, // READ quiet only
    { token: TOKENS.root, user: 'root', roles: ['admins', 'dev', 'ops'] }, // READ every account
  ],
};

function operation(id: string, account: string, receivedAt: number): OperationRecord {
  return operationRecord(id, account, receivedAt);
}

describe('operations narrowed to the caller in the query', () => {
  let store: SqlStore;
  let app: FastifyInstance;
  const filters: Array<OperationFilter | undefined> = [];
  before(async () => {
    store = await openStore('sqlite::memory:', silentLogger());
    await store.upsertAccount(accountRecord('quiet', { permissions: { READ: ['dev'] } }), NOW);
    await store.upsertAccount(accountRecord('busy', { permissions: { READ: ['ops'] } }), NOW);
    await store.recordOperation(operation('quiet-1', 'quiet', NOW));
    for (let i = 0; i < BUSY_OPERATIONS; i++) await store.recordOperation(operation(`busy-${i}`, 'busy', NOW + 1 + i));
    const recorded = new Proxy(store, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (key === 'listOperations') {
          return (limit: number, filter?: OperationFilter) => {
            filters.push(filter);
            return target.listOperations(limit, filter);
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const auth = createRestAuth(parseConfig(authConfigSchema, AUTH, 'auth'));
    app = buildApiServer({ store: recorded, router: new FakeRouter(), hubId: 'hub-1', logger: silentLogger(), auth });
  });
  after(async () => {
    await app.close();
    await store.close();
  });

  async function operations(token: string, query = ''): Promise<Json[]> {
    const res = await app.inject({ method: 'GET', url: `/admin/operations${query}`, headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  }

  test('a caller of a quiet account sees its operations, though the newest hub-wide are all another account’s', async () => {
    assert.deepEqual(
      (await operations(TOKENS.lead)).map((o) => o.id),
      ['quiet-1'],
    );
    assert.deepEqual(filters.at(-1)?.accounts, ['quiet'], 'narrowed in the query');
    assert.deepEqual(await operations(TOKENS.lead, '?account=busy'), [], 'an account they may not read: nothing');
  });

  test('a caller who may read every account is not narrowed', async () => {
    const all = await operations(TOKENS.root);
    assert.equal(all.length, 100);
    assert.equal(all[0].id, `busy-${BUSY_OPERATIONS - 1}`);
    assert.equal(filters.at(-1)?.accounts, undefined);
  });
});
