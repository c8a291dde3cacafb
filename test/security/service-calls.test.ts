/**
 * auth.trustedGate.serviceCalls: Spinnaker's own service calls (Gate's account poll, Fiat's loads) come
 * from a trusted Gate source with no user and no token. With `read` they read every account as
 * spinnaker-services and never write; by default, from elsewhere, or without the shared secret they
 * stay 401. Against a real (SQLite) store and the API server, as rest-auth.test.ts does; the pieces
 * below the routes (authenticator, caller access, schema) are unit-tested in
 * src/hub/auth/service-calls.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { parseConfig } from '../../src/common/config.ts';
import { silentLogger } from '../../src/common/logger.ts';
import { FakeRouter } from '../../src/hub/api/testing/fake-router.ts';
import { buildApiServer } from '../../src/hub/api/server.ts';
import { openStore } from '../../src/hub/store/open-store.ts';
import type { SqlStore } from '../../src/hub/store/sql-store.ts';
import { DEPLOYMENTS, accountRecord, upsert } from '../../src/hub/store/testing/fixtures.ts';
import { CLOSED_ROLE } from '../../src/hub/auth/account-policy.ts';
import { authConfigSchema } from '../../src/hub/auth/auth-config.ts';
import { SERVICE_CALLS_USER } from '../../src/hub/auth/authenticator.ts';
import { createRestAuth } from '../../src/hub/auth/rest-auth.ts';
import { capturingLogger } from './transport-harness.ts';

type Json = any;

const NOW = 1_700_000_000_000;
const GATE = '10.42.7.15';
const ELSEWHERE = '10.1.2.3';
const BOB_TOKEN = 'bob-token-0123456789abcdef01';
const SECRET = 'gate-shared-secret-value';

/** Restricted, closed (no role, unrestrictedAccounts closed) and malformed: a service call reads them all. */
const ACCOUNTS: Record<string, Record<string, string[]>> = {
  prod: { READ: ['ops'], WRITE: ['ops'] },
  vault: { READ: ['security'], WRITE: ['security'] },
  'open-acct': {},
  broken: { READ: ['dev ops'] },
};

const BASE_AUTH = {
  enabled: true,
  adminRoles: ['admins'],
  tokens: [{ token: BOB_TOKEN, user: 'bob', roles: ['ops'] }],
  // A user named like the service principal gets no more than their own roles, and it is never the service.
  users: [
    { name: 'carol', roles: ['ops'] },
    { name: SERVICE_CALLS_USER, roles: ['admins'] },
  ],
};

function deployBody(account: string): unknown {
  return [
    {
      deployManifest: {
        account,
        cloudProvider: 'kubernetes',
        source: 'text',
        moniker: { app: 'shop' },
        manifests: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'web' }, data: { a: 'b' } }],
      },
    },
  ];
}

describe('Spinnaker service calls without a user (auth.trustedGate.serviceCalls)', () => {
  let store: SqlStore;
  const servers: FastifyInstance[] = [];
  const router = new FakeRouter();
  const log = capturingLogger();

  before(async () => {
    store = await openStore('sqlite::memory:', silentLogger());
    for (const [name, permissions] of Object.entries(ACCOUNTS)) {
      await store.upsertAccount(accountRecord(name, { permissions }), NOW);
      await store.applyBatch(
        {
          account: name,
          changes: [
            upsert(DEPLOYMENTS, 'web', `web-${name}`, '5', {
              annotations: { 'moniker.spinnaker.io/application': 'shop', 'moniker.spinnaker.io/cluster': 'deployment web' },
            }),
          ],
          progress: [],
        },
        NOW,
      );
    }
  });

  after(async () => {
    for (const server of servers) await server.close();
    await store.close();
  });

  /** An API server over the shared store with this trustedGate section. */
  function server(trustedGate: Record<string, unknown>): FastifyInstance {
    const auth = createRestAuth(parseConfig(authConfigSchema, { ...BASE_AUTH, trustedGate }, 'test'));
    const app = buildApiServer({ store, router, hubId: 'hub-test', logger: log.logger, auth });
    servers.push(app);
    return app;
  }

  async function call(
    app: FastifyInstance,
    method: string,
    url: string,
    options: { from?: string; headers?: Record<string, string>; body?: unknown } = {},
  ): Promise<{ status: number; body: Json }> {
    const headers = { ...(options.headers ?? {}), ...(options.body === undefined ? {} : { 'content-type': 'application/json' }) };
    const res = await app.inject({
      method: method as 'GET',
      url,
      headers,
      payload: options.body === undefined ? undefined : JSON.stringify(options.body),
      remoteAddress: options.from ?? GATE,
    });
    return { status: res.statusCode, body: res.body === '' ? undefined : res.json() };
  }

  const names = (body: Json[]): string[] => body.map((a) => a.name).sort();
  const everyAccount = Object.keys(ACCOUNTS).sort();

  test("with serviceCalls: read, Gate's and Fiat's calls without a user read every account, permissions included", async () => {
    const app = server({ sources: ['10.42.7.0/24'], serviceCalls: 'read' });
    // Gate's 30 s account poll and Fiat's loads.
    const expanded = await call(app, 'GET', '/credentials?expand=true');
    assert.equal(expanded.status, 200, JSON.stringify(expanded.body));
    assert.deepEqual(names(expanded.body), everyAccount);
    const plain = await call(app, 'GET', '/credentials');
    assert.deepEqual(names(plain.body), everyAccount);
    const byName = Object.fromEntries(plain.body.map((a: Json) => [a.name, a]));
    assert.deepEqual(byName.prod.permissions, { READ: ['ops'], WRITE: ['ops'] }, 'Fiat reads the permissions the hub enforces');
    assert.deepEqual(byName['open-acct'].permissions, { READ: [CLOSED_ROLE], WRITE: [CLOSED_ROLE] });
    assert.deepEqual(byName.broken.permissions, { READ: [CLOSED_ROLE], WRITE: [CLOSED_ROLE] });
    const apps = await call(app, 'GET', '/applications?restricted=false&expand=false');
    assert.equal(apps.status, 200);
    assert.deepEqual(Object.keys(apps.body.find((a: Json) => a.name === 'shop').clusterNames).sort(), everyAccount);
    // Other reads, by path too.
    assert.equal((await call(app, 'GET', '/credentials/vault')).status, 200);
    assert.equal((await call(app, 'GET', '/manifests/vault/web/deployment%20web-vault')).status, 200);
    assert.equal((await call(app, 'HEAD', '/credentials')).status, 200);

    // A trusted source with a user keeps the user's own view; a token keeps the token's.
    assert.deepEqual(names((await call(app, 'GET', '/credentials', { headers: { 'x-spinnaker-user': 'carol' } })).body), ['prod']);
    assert.deepEqual(names((await call(app, 'GET', '/credentials', { headers: { authorization: `Bearer ${BOB_TOKEN}` } })).body), ['prod']);
    // A Gate user who is called spinnaker-services is an ordinary user: its configured roles, nothing more.
    const namesake = await call(app, 'GET', '/credentials', { headers: { 'x-spinnaker-user': SERVICE_CALLS_USER } });
    assert.deepEqual(names(namesake.body), []);
  });

  test('a service call never writes, is never admin, and anything but a read stays 401', async () => {
    const app = server({ sources: ['10.42.7.0/24'], serviceCalls: 'read' });
    const tasksBefore = (await store.listTasks!(1000)).length;
    for (const [method, url, body] of [
      ['POST', '/kubernetes/ops', deployBody('prod')],
      ['POST', '/ops', deployBody('prod')],
      ['POST', '/kubernetes/ops/deleteManifest', { account: 'prod', manifestName: 'deployment web-prod', location: 'web' }],
      ['POST', '/task/T-1:resume', undefined],
      ['POST', '/kubernetes/task/T-1/restart', []],
      ['PATCH', '/kubernetes/task/T-1', { retry: true }],
      ['DELETE', '/credentials/prod', undefined],
    ] as const) {
      const res = await call(app, method, url, { body });
      assert.equal(res.status, 401, `${method} ${url}`);
      assert.equal(res.body.code, 'AUTHENTICATION_REQUIRED', `${method} ${url}`);
      assert.match(res.body.message, /may only read .*needs a user/, `${method} ${url}`);
    }
    assert.equal((await store.listTasks!(1000)).length, tasksBefore, 'no task was created');
    assert.equal(router.calls.length, 0, 'nothing reached an agent');

    // Admin routes: 403 naming why, and the refusal is logged under the service principal.
    const admin = await call(app, 'GET', '/admin/operations');
    assert.equal(admin.status, 403);
    assert.equal(admin.body.code, 'ACCESS_DENIED');
    assert.match(admin.body.message, /needs an admin role .*spinnaker-services: a call from the trusted Gate without a user .* never admin/);
    assert.ok(log.lines().some((l) => l.user === SERVICE_CALLS_USER && l.code === 'ACCESS_DENIED'));
  });

  test('off by default, from an untrusted source, or without the shared secret: 401 as before', async () => {
    const off = server({ sources: ['10.42.7.0/24'] });
    const refused = await call(off, 'GET', '/credentials');
    assert.equal(refused.status, 401);
    assert.equal(refused.body.code, 'AUTHENTICATION_REQUIRED');

    const on = server({ sources: ['10.42.7.0/24'], serviceCalls: 'read' });
    const untrusted = await call(on, 'GET', '/credentials', { from: ELSEWHERE });
    assert.equal(untrusted.status, 401);
    assert.equal(untrusted.body.code, 'AUTHENTICATION_REQUIRED');

    const secret = server({ sources: ['10.42.7.0/24'], serviceCalls: 'read', sharedSecret: { value: SECRET } });
    const missing = await call(secret, 'GET', '/credentials');
    assert.equal(missing.status, 401);
    assert.equal(missing.body.code, 'AUTHENTICATION_REQUIRED');
    assert.match(missing.body.message, /needs the shared secret in X-Scale-Agent-Gate-Secret/);
    const wrong = await call(secret, 'GET', '/credentials', { headers: { 'x-scale-agent-gate-secret': 'not-the-secret' } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, 'AUTHENTICATION_FAILED');
    const right = await call(secret, 'GET', '/credentials', { headers: { 'x-scale-agent-gate-secret': SECRET } });
    assert.equal(right.status, 200);
    assert.deepEqual(names(right.body), everyAccount);
    // The secret from an untrusted source is not enough.
    assert.equal((await call(secret, 'GET', '/credentials', { from: ELSEWHERE, headers: { 'x-scale-agent-gate-secret': SECRET } })).status, 401);
    assert.ok(!JSON.stringify(log.lines()).includes(SECRET), 'the secret is never logged');
  });
});
