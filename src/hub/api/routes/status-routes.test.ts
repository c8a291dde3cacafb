// The hub's status page: GET /status/data over a real SQLite store (accounts in every state, feeds with
// their freshness and divergence, operations with their hops, this replica's sessions), what a READ user
// sees of it under REST authorization (only their accounts and those accounts' operations and sessions;
// the 401 of every protected route without credentials), and the page itself: its headers (a strict
// Content-Security-Policy), a script that parses and never hands data to an HTML parser; and what it
// still shows when the database does not answer.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Script } from 'node:vm';
import type { FastifyInstance } from 'fastify';
import { parseConfig } from '../../../common/config.ts';
import { silentLogger } from '../../../common/logger.ts';
import { STATUS_PAGE_CSP } from '../../../common/status-page/page-shell.ts';
import { authConfigSchema } from '../../auth/auth-config.ts';
import { createRestAuth } from '../../auth/rest-auth.ts';
import { openStore } from '../../store/open-store.ts';
import type { SqlStore } from '../../store/sql-store.ts';
import { CONFIGMAPS_WEB, DEPLOYMENTS, accountRecord, operationRecord, upsert } from '../../store/testing/fixtures.ts';
import type { OperationRecord } from '../../store/types.ts';
import { FakeRouter } from '../testing/fake-router.ts';
import { buildApiServer } from '../server.ts';
import type { AgentSessionView, SessionListing } from './route-context.ts';
import { LARGE_STATUS_ACCOUNTS, LARGE_STATUS_REFRESH_MS } from '../status/status-data.ts';
import { STATUS_OPERATIONS_SHOWN } from '../status/status-snapshot.ts';
import { STATUS_PATHS } from './status-routes.ts';

type Json = any;

const HOSTILE = '<script>alert(1)</script>';
const TOKENS = { alice: 'alice-token-0123456789abcdef', admin: 'admin-token-0123456789abcdef' };
const AUTH = {
  enabled: true,
  adminRoles: ['admins'],
  tokens: [
    { token: TOKENS.alice, user: 'alice', roles: ['dev'] },
    { token: TOKENS.admin, user: 'root', roles: ['admins', 'ops'] },
  ],
};

const SECOND = 1000;
const STARTED = Date.now() - 60 * SECOND;

function session(overrides: Partial<AgentSessionView>): AgentSessionView {
  return {
    sessionId: 'session-1',
    agentId: 'agent-1',
    agentVersion: '0.1.0',
    protocolVersion: 2,
    peer: 'ipv4:10.0.0.7:51000',
    zoneId: '',
    connectedAt: STARTED,
    lastMessageAt: Date.now() - 3 * SECOND,
    accounts: [],
    caching: [],
    unreachable: [],
    refused: [],
    pendingOperations: 0,
    ...overrides,
  };
}

/** This replica's sessions: agent-1 caches prod and staging (alice may read prod only); agent-2 serves vault and was refused a name nobody holds. */
const SESSIONS: SessionListing = {
  list: () => [
    session({ accounts: ['prod', 'staging'], caching: ['prod', 'staging'], unreachable: [{ account: HOSTILE, reason: `cannot read ${HOSTILE}` }] }),
    session({
      sessionId: 'session-2',
      agentId: 'agent-2',
      peer: 'ipv4:10.0.0.8:51000',
      accounts: ['vault'],
      caching: ['vault'],
      refused: [{ account: 'taken', code: 'ACCOUNT_OWNED_BY_OTHER_CLUSTER', message: 'account taken is registered for another cluster' }],
    }),
  ],
};

function operation(id: string, account: string, receivedAt: number): OperationRecord {
  return operationRecord(id, account, receivedAt, {
    taskId: `task-${id}`,
    routedAt: receivedAt + 2,
    sentAt: receivedAt + 5,
    executedAt: receivedAt + 45,
    resultAt: receivedAt + 60,
  });
}

async function seed(store: SqlStore): Promise<void> {
  const now = Date.now();
  await store.upsertAccount(accountRecord('prod', { permissions: { READ: ['dev'], WRITE: ['ops'] } }), now - 50 * SECOND);
  await store.upsertAccount(accountRecord('staging', { permissions: { READ: ['ops'] } }), now - 50 * SECOND);
  await store.upsertAccount(accountRecord('vault', { permissions: { READ: ['ops'] }, agentId: 'agent-2' }), now - 50 * SECOND);
  await store.upsertAccount(accountRecord(HOSTILE, { permissions: { READ: ['dev'] }, unreachableReason: `kubeconfig ${HOSTILE} unreadable` }), now);
  await store.upsertAccount(accountRecord('gone', { permissions: { READ: ['dev'] } }), now - 40 * SECOND);
  await store.setAccountStatus('gone', 'disconnected', 'agent-1', null, now - 30 * SECOND);
  // prod: Deployments changed 20 s ago, ConfigMaps in web 10 s ago and found to differ from the agent's digest.
  await store.applyBatch(
    { account: 'prod', changes: [upsert(DEPLOYMENTS, 'web', 'web', '5')], progress: [{ feed: DEPLOYMENTS, resourceVersion: '5' }] },
    now - 20 * SECOND,
  );
  await store.applyBatch(
    { account: 'prod', changes: [upsert(CONFIGMAPS_WEB, 'web', 'cfg', '6')], progress: [{ feed: CONFIGMAPS_WEB, resourceVersion: '6' }] },
    now - 10 * SECOND,
  );
  await store.recordDigestComparison('prod', DEPLOYMENTS, false, now - 5 * SECOND);
  await store.recordDigestComparison('prod', CONFIGMAPS_WEB, true, now - 5 * SECOND);
  await store.applyBatch({ account: 'vault', changes: [upsert(DEPLOYMENTS, 'sec', 'kms', '3')], progress: [{ feed: DEPLOYMENTS, resourceVersion: '3' }] }, now);
  await store.recordOperation(operation('op-prod', 'prod', now - 8 * SECOND));
  await store.recordOperation(operation('op-vault', 'vault', now - 4 * SECOND));
  await store.recordOperation({
    ...operation('op-hostile', HOSTILE, now - 2 * SECOND),
    status: 'FAILED',
    errorCode: 'ACCOUNT_CLUSTER_UNREACHABLE',
    message: HOSTILE,
  });
}

async function get(app: FastifyInstance, url: string, token?: string) {
  const res = await app.inject({ method: 'GET', url, headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.statusCode, headers: res.headers, text: res.body, json: (): Json => res.json() };
}

describe('status page without REST authorization', () => {
  let store: SqlStore;
  let app: FastifyInstance;
  before(async () => {
    store = await openStore('sqlite::memory:', silentLogger());
    await seed(store);
    app = buildApiServer({ store, router: new FakeRouter(), hubId: 'hub-1', logger: silentLogger(), sessions: SESSIONS, replicas: { list: async () => [] } });
  });
  after(async () => {
    await app.close();
    await store.close();
  });

  test('GET /status/data: accounts with state, agent, replica, per-kind freshness and divergence; sessions; operations with hops; the database', async () => {
    const res = await get(app, STATUS_PATHS.data);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.equal(res.headers['cache-control'], 'no-store');
    const data = res.json();
    assert.equal(data.hubId, 'hub-1');
    assert.equal(data.refreshMs, 2000);
    assert.deepEqual(data.viewer, { authEnabled: false, user: null, admin: false });
    assert.deepEqual(data.database, { status: 'UP' });
    const byName = new Map<string, Json>(data.accounts.map((a: Json) => [a.name, a]));
    assert.deepEqual([...byName.keys()], [HOSTILE, 'gone', 'prod', 'staging', 'taken', 'vault']);
    assert.deepEqual(Object.fromEntries([...byName.values()].map((a) => [a.name, a.state])), {
      [HOSTILE]: 'unreachable',
      gone: 'disconnected',
      prod: 'connected',
      staging: 'connected',
      taken: 'refused',
      vault: 'connected',
    });
    assert.deepEqual(data.summary.byState, { connected: 3, unreachable: 1, disconnected: 1, refused: 1 });

    const prod = byName.get('prod');
    assert.equal(prod.agentId, 'agent-1');
    assert.equal(prod.hubId, 'hub-1');
    assert.deepEqual(prod.agentsHere, [{ agentId: 'agent-1', caching: true }]);
    assert.ok(prod.heartbeatAgoSeconds >= 2 && prod.heartbeatAgoSeconds < 10, `heartbeat ${prod.heartbeatAgoSeconds}`);
    assert.equal(prod.cache.status, 'diverged');
    assert.deepEqual(
      prod.feeds.map((f: Json) => [f.kind, f.namespace, f.state, f.divergences]),
      [
        ['ConfigMap', 'web', 'diverged', 1],
        ['Deployment', '', 'matching', 0],
      ],
    );
    const [configMaps, deployments] = prod.feeds;
    assert.ok(configMaps.changedAgoSeconds >= 10 && configMaps.changedAgoSeconds < 15, `ConfigMap freshness ${configMaps.changedAgoSeconds}`);
    assert.ok(deployments.changedAgoSeconds >= 20 && deployments.changedAgoSeconds < 25, `Deployment freshness ${deployments.changedAgoSeconds}`);
    assert.ok(deployments.checkedAgoSeconds >= 5 && deployments.checkedAgoSeconds < 10);
    assert.equal(typeof configMaps.divergedSince, 'string');
    assert.equal(data.summary.divergedFeeds, 1);

    assert.match(byName.get('gone').reason, /^no agent serves it since /);
    assert.equal(byName.get('gone').heartbeatAgoSeconds, null);
    assert.equal(byName.get(HOSTILE).reason, `kubeconfig ${HOSTILE} unreadable`, 'text as it is: the page escapes it');
    assert.deepEqual(byName.get('taken').refusals, [
      { agentId: 'agent-2', code: 'ACCOUNT_OWNED_BY_OTHER_CLUSTER', message: 'account taken is registered for another cluster' },
    ]);

    assert.deepEqual(
      data.sessions.map((s: Json) => [s.agentId, s.peer, s.accounts, s.caching, s.refused.length]),
      [
        ['agent-1', 'ipv4:10.0.0.7:51000', ['prod', 'staging'], ['prod', 'staging'], 0],
        ['agent-2', 'ipv4:10.0.0.8:51000', ['vault'], ['vault'], 1],
      ],
    );
    assert.deepEqual(
      data.operations.map((o: Json) => o.id),
      ['op-hostile', 'op-vault', 'op-prod'],
    );
    assert.deepEqual(data.operations[2].hops, { routeMs: 2, sendMs: 3, agentMs: 40, returnMs: 15, totalMs: 60 });
  });

  test('GET / is the page: HTML under a strict Content-Security-Policy, its script and style from the same origin', async () => {
    const page = await get(app, STATUS_PATHS.page);
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.equal(page.headers['content-security-policy'], STATUS_PAGE_CSP);
    assert.match(STATUS_PAGE_CSP, /default-src 'none'/);
    assert.doesNotMatch(STATUS_PAGE_CSP, /unsafe-inline|unsafe-eval|https?:/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.match(page.text, /<script src="status\/page\.js"><\/script>/);
    assert.match(page.text, /<link rel="stylesheet" href="status\/page\.css">/);
    assert.doesNotMatch(page.text, /<script>|<style>| style=| on[a-z]+=/, 'nothing inline: the policy would refuse it');

    const script = await get(app, STATUS_PATHS.script);
    assert.equal(script.status, 200);
    assert.match(String(script.headers['content-type']), /^text\/javascript/);
    assert.doesNotThrow(() => new Script(script.text), 'the script parses');
    assert.doesNotMatch(script.text, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/, 'data never reaches an HTML parser');
    assert.match(script.text, /status\/data/);

    const style = await get(app, STATUS_PATHS.style);
    assert.equal(style.status, 200);
    assert.match(String(style.headers['content-type']), /^text\/css/);
    assert.doesNotMatch(style.text, /@import|url\(/, 'no other resource');
  });
});

describe('status page under REST authorization', () => {
  let store: SqlStore;
  let app: FastifyInstance;
  before(async () => {
    store = await openStore('sqlite::memory:', silentLogger());
    await seed(store);
    const auth = createRestAuth(parseConfig(authConfigSchema, AUTH, 'auth'));
    app = buildApiServer({ store, router: new FakeRouter(), hubId: 'hub-1', logger: silentLogger(), sessions: SESSIONS, auth });
  });
  after(async () => {
    await app.close();
    await store.close();
  });

  test('without credentials the page and its data answer as every protected route does (401)', async () => {
    const protectedRoute = await get(app, '/credentials');
    assert.equal(protectedRoute.status, 401);
    for (const path of [STATUS_PATHS.data, STATUS_PATHS.page]) {
      const res = await get(app, path);
      assert.equal(res.status, 401, path);
      assert.equal(res.headers['www-authenticate'], protectedRoute.headers['www-authenticate']);
      assert.equal(res.json().code, protectedRoute.json().code);
    }
  });

  test('a READ user sees only the accounts they may read, their operations, and sessions narrowed to them', async () => {
    const data = (await get(app, STATUS_PATHS.data, TOKENS.alice)).json();
    assert.deepEqual(data.viewer, { authEnabled: true, user: 'alice', admin: false });
    assert.deepEqual(
      data.accounts.map((a: Json) => a.name),
      [HOSTILE, 'gone', 'prod'],
    );
    assert.deepEqual(
      data.operations.map((o: Json) => o.account),
      [HOSTILE, 'prod'],
    );
    // agent-1 serves prod (readable) and staging (not): only prod is named; agent-2 serves nothing alice may read.
    assert.deepEqual(
      data.sessions.map((s: Json) => [s.agentId, s.accounts, s.caching, s.unreachable.map((u: Json) => u.account), 'peer' in s]),
      [['agent-1', ['prod'], ['prod'], [HOSTILE], false]],
    );
    assert.equal(data.summary.accounts, 3);
    assert.equal(data.summary.feeds, 2, 'only the feeds of prod');
    assert.doesNotMatch(JSON.stringify(data), /vault|staging|taken|10\.0\.0\./);
  });

  test('an admin sees the accounts their roles may read, and this replica’s sessions whole (as /admin/replicas shows them)', async () => {
    const data = (await get(app, STATUS_PATHS.data, TOKENS.admin)).json();
    assert.deepEqual(data.viewer, { authEnabled: true, user: 'root', admin: true });
    assert.deepEqual(
      data.accounts.map((a: Json) => a.name),
      ['staging', 'vault'],
      'READ decides the accounts, as on every route; a name refused without a row is not listed as an account',
    );
    assert.deepEqual(
      data.sessions.map((s: Json) => [s.peer, s.accounts, s.refused.map((r: Json) => r.account)]),
      [
        ['ipv4:10.0.0.7:51000', ['prod', 'staging'], []],
        ['ipv4:10.0.0.8:51000', ['vault'], ['taken']],
      ],
    );
  });
});

describe('status page of a large hub under REST authorization', () => {
  /** More accounts than LARGE_STATUS_ACCOUNTS, none of them alice's, with operations newer than all of hers. */
  const BULK_ACCOUNTS = LARGE_STATUS_ACCOUNTS;
  const NEWER_OPERATIONS = 2 * STATUS_OPERATIONS_SHOWN;
  let store: SqlStore;
  let app: FastifyInstance;
  const reads = { listFeedStates: 0, listAccounts: 0 };
  before(async () => {
    store = await openStore('sqlite::memory:', silentLogger());
    await seed(store);
    const now = Date.now();
    for (let i = 0; i < BULK_ACCOUNTS; i++) await store.upsertAccount(accountRecord(`bulk-${i}`, { permissions: { READ: ['ops'] } }), now);
    for (let i = 0; i < NEWER_OPERATIONS; i++) await store.recordOperation(operation(`op-bulk-${i}`, `bulk-${i}`, now + i));
    // Counts the reads the page makes of the store as it is (the filtered store wraps this one).
    const counted = new Proxy(store, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (key === 'listFeedStates' || key === 'listAccounts') {
          return (...args: unknown[]) => {
            reads[key]++;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const auth = createRestAuth(parseConfig(authConfigSchema, AUTH, 'auth'));
    app = buildApiServer({ store: counted, router: new FakeRouter(), hubId: 'hub-1', logger: silentLogger(), sessions: SESSIONS, auth });
  });
  after(async () => {
    await app.close();
    await store.close();
  });

  test('a READ user of 3 accounts polls as seldom as the hub is large, and sees their own recent operations', async () => {
    const data = (await get(app, STATUS_PATHS.data, TOKENS.alice)).json();
    assert.equal(data.summary.accounts, 3);
    assert.equal(data.refreshMs, LARGE_STATUS_REFRESH_MS, 'every poll costs the whole read, however little of it alice sees');
    assert.deepEqual(
      data.operations.map((o: Json) => o.id),
      ['op-hostile', 'op-prod'],
      `their own, though the ${NEWER_OPERATIONS} newest hub-wide are others'`,
    );
  });

  test('polls of several callers at once share one read of the accounts and feeds, each narrowed to its caller', async () => {
    const before = { ...reads };
    const answers = await Promise.all(
      [TOKENS.alice, TOKENS.admin, TOKENS.alice, TOKENS.admin, TOKENS.alice].map((token) => get(app, STATUS_PATHS.data, token)),
    );
    assert.ok(reads.listFeedStates - before.listFeedStates <= 1, `feed states read ${reads.listFeedStates - before.listFeedStates} times for 5 polls`);
    assert.ok(reads.listAccounts - before.listAccounts <= 1, `accounts read ${reads.listAccounts - before.listAccounts} times for 5 polls`);
    // Narrowed as every other route narrows: the accounts /credentials lists to the same caller.
    for (const [i, token] of [TOKENS.alice, TOKENS.admin, TOKENS.alice, TOKENS.admin, TOKENS.alice].entries()) {
      const credentials = (await get(app, '/credentials', token)).json();
      assert.deepEqual(
        answers[i]!.json().accounts.map((a: Json) => a.name),
        credentials.map((a: Json) => a.name).sort(),
      );
    }
    const admin = answers[1]!.json();
    assert.deepEqual(
      admin.operations.map((o: Json) => o.account).slice(0, 2),
      [`bulk-${NEWER_OPERATIONS - 1}`, `bulk-${NEWER_OPERATIONS - 2}`],
      'a caller of the busy accounts sees theirs',
    );
  });
});

test('a database that does not answer: DOWN with the error, and this replica’s sessions still listed', async () => {
  const store = await openStore('sqlite::memory:', silentLogger());
  const app = buildApiServer({ store, router: new FakeRouter(), hubId: 'hub-1', logger: silentLogger(), sessions: SESSIONS });
  await store.close();
  try {
    const data = (await get(app, STATUS_PATHS.data)).json();
    assert.equal(data.database.status, 'DOWN');
    assert.equal(typeof data.database.error, 'string');
    assert.deepEqual(data.accounts, [], 'no account is made up from the sessions while the rows cannot be read');
    assert.deepEqual(data.operations, []);
    assert.deepEqual(
      data.sessions.map((s: Json) => s.agentId),
      ['agent-1', 'agent-2'],
    );
  } finally {
    await app.close();
  }
});
