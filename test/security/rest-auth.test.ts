/**
 * REST authorization, refusal by refusal: no or a wrong token (401), X-SPINNAKER-USER from an untrusted
 * address (401), a READ-only user's operation (403, no task), accounts a user may not READ (absent from
 * every list, 403 by path), malformed role lists (a start-up error naming the key, or an account closed
 * when its agent sent one), admin endpoints, another caller's clientRequestId (never reaches their task),
 * and the same through a real hub's configuration.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { stringify as toYaml } from 'yaml';
import { parseConfig } from '../../src/common/config.ts';
import { isScaleAgentError } from '../../src/common/errors.ts';
import { silentLogger } from '../../src/common/logger.ts';
import { waitFor } from '../../src/common/time.ts';
import { FakeRouter } from '../../src/hub/api/testing/fake-router.ts';
import { buildApiServer } from '../../src/hub/api/server.ts';
import { CLOSED_ROLE } from '../../src/hub/auth/account-policy.ts';
import { authConfigSchema } from '../../src/hub/auth/auth-config.ts';
import { createRestAuth } from '../../src/hub/auth/rest-auth.ts';
import { hubConfigSchema } from '../../src/hub/config.ts';
import { startHub } from '../../src/hub/hub.ts';
import { openStore } from '../../src/hub/store/open-store.ts';
import type { SqlStore } from '../../src/hub/store/sql-store.ts';
import { DEPLOYMENTS, accountRecord, upsert } from '../../src/hub/store/testing/fixtures.ts';
import { capturingLogger } from './transport-harness.ts';

type Json = any;

const NOW = 1_700_000_000_000;
const TOKENS = {
  alice: 'alice-token-0123456789abcdef', // dev: READ prod, READ+WRITE staging
  bob: 'bob-token-0123456789abcdef01', // ops: READ+WRITE prod and vault
  admin: 'admin-token-0123456789abcdef', // admins: /admin/*, /metrics, no account
  auditor: 'auditor-token-0123456789abcd', // auditors: READ override-* by the hub's override
};
/** The gRPC keys a hub needs to start in these tests (plaintext, any agent). */
const GRPC = { host: '127.0.0.1', port: 0, insecure: true, allowAnyIdentity: true };

const AUTH = {
  enabled: true,
  adminRoles: ['admins'],
  tokens: [
    { token: TOKENS.alice, user: 'alice', roles: ['dev'] },
    { token: TOKENS.bob, user: 'bob', roles: ['OPS'] },
    { token: TOKENS.admin, user: 'root', roles: ['admins'] },
    { token: TOKENS.auditor, user: 'audit', roles: ['auditors'] },
  ],
  users: [{ name: 'carol', roles: ['ops'] }],
  trustedGate: { sources: ['127.0.0.1/32', '::1'], rolesHeader: 'X-SPINNAKER-ROLES' },
  accounts: [{ name: 'override-*', permissions: { READ: ['auditors'] } }],
};

/** Accounts as agents registered them; each has one Deployment of application "shop". */
const ACCOUNTS: Record<string, Record<string, string[]>> = {
  prod: { READ: ['dev', 'ops'], WRITE: ['ops'] },
  staging: { READ: [' Dev '], WRITE: ['DEV'] }, // normalised to dev
  vault: { READ: ['ops'], WRITE: ['ops'] },
  'open-acct': {}, // names no role: closed unless auth.unrestrictedAccounts is open
  broken: { READ: ['dev ops'], WRITE: ['ops'] }, // the Armory bug: whitespace inside a role
  'override-me': { READ: ['dev'] }, // the hub's override replaces this with auditors
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

async function seed(store: SqlStore): Promise<void> {
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
}

describe('REST authorization', () => {
  let store: SqlStore;
  let router: FakeRouter;
  let app: FastifyInstance;
  const log = capturingLogger();

  before(async () => {
    store = await openStore('sqlite::memory:', silentLogger());
    await seed(store);
    router = new FakeRouter();
    const auth = createRestAuth(parseConfig(authConfigSchema, AUTH, 'test'));
    app = buildApiServer({ store, router, hubId: 'hub-test', logger: log.logger, auth });
  });

  after(async () => {
    await app.close();
    await store.close();
  });

  async function call(method: string, url: string, options: { token?: string; headers?: Record<string, string>; body?: unknown; remoteAddress?: string } = {}) {
    const headers: Record<string, string> = { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...(options.headers ?? {}) };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const res = await app.inject({
      method: method as 'GET',
      url,
      headers,
      payload: options.body === undefined ? undefined : JSON.stringify(options.body),
      remoteAddress: options.remoteAddress ?? '127.0.0.1',
    });
    return { status: res.statusCode, headers: res.headers, body: res.body === '' ? undefined : (res.json() as Json) };
  }
  const as = (token: string) => (url: string) => call('GET', url, { token });

  async function taskCount(): Promise<number> {
    return (await store.listTasks!(1000)).length;
  }

  test('/health needs no credentials; everything else answers 401 without them', async () => {
    assert.equal((await call('GET', '/health')).status, 200);
    for (const [method, url] of [
      ['GET', '/credentials'],
      ['GET', '/applications'],
      ['GET', '/manifests/prod/web/deployment%20web-prod'],
      ['GET', '/search?q=web&type=serverGroups'],
      ['POST', '/kubernetes/ops'],
      ['GET', '/admin/operations'],
      ['GET', '/no/such/route'],
    ] as const) {
      const res = await call(method, url, method === 'POST' ? { body: deployBody('prod') } : {});
      assert.equal(res.status, 401, `${method} ${url}`);
      assert.equal(res.body.code, 'AUTHENTICATION_REQUIRED', `${method} ${url}`);
      assert.match(res.body.message, /Authorization: Bearer <token>/);
      assert.match(String(res.headers['www-authenticate']), /^Bearer/);
    }
  });

  test('a wrong token, or another scheme, is a 401 that says so', async () => {
    const wrong = await call('GET', '/credentials', { token: 'not-a-token-of-this-hub-at-all' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, 'AUTHENTICATION_FAILED');
    assert.match(wrong.body.message, /bearer token is not valid/);
    const basic = await call('GET', '/credentials', { headers: { authorization: 'Basic YWxpY2U6cGFzcw==' } });
    assert.equal(basic.status, 401);
    assert.match(basic.body.message, /Bearer <token>/);
    // A token must be the whole credential: a valid one with a suffix is not valid.
    assert.equal((await call('GET', '/credentials', { token: `${TOKENS.alice}x` })).status, 401);
    // A token never lets its holder speak for someone else: X-SPINNAKER-USER is ignored next to it.
    const mixed = await call('GET', '/credentials', { token: TOKENS.alice, headers: { 'x-spinnaker-user': 'carol' } });
    assert.deepEqual(mixed.body.map((a: Json) => a.name).sort(), ['prod', 'staging']);
    const logged = log.lines().filter((l) => l.msg?.startsWith('REST request not authenticated'));
    assert.ok(logged.length > 0, 'refusals are logged');
    assert.ok(!JSON.stringify(logged).includes('not-a-token-of-this-hub-at-all'), 'the presented token is never logged');
  });

  test('X-SPINNAKER-USER counts only from the trusted Gate addresses', async () => {
    const untrusted = await call('GET', '/credentials', { headers: { 'x-spinnaker-user': 'carol' }, remoteAddress: '10.9.8.7' });
    assert.equal(untrusted.status, 401);
    assert.equal(untrusted.body.code, 'AUTHENTICATION_FAILED');
    assert.match(untrusted.body.message, /only accepted from the trusted Gate.*127\.0\.0\.1\/32.*10\.9\.8\.7/);

    // carol's roles come from auth.users: ops.
    const trusted = await call('GET', '/credentials', { headers: { 'x-spinnaker-user': 'carol' }, remoteAddress: '127.0.0.1' });
    assert.equal(trusted.status, 200);
    assert.deepEqual(trusted.body.map((a: Json) => a.name).sort(), ['prod', 'vault']);
    // IPv4-mapped IPv6 peers match IPv4 blocks.
    assert.equal((await call('GET', '/credentials', { headers: { 'x-spinnaker-user': 'carol' }, remoteAddress: '::ffff:127.0.0.1' })).status, 200);

    // Roles from the trusted Gate's roles header add to the configured ones; a malformed one is refused.
    const withRoles = await call('GET', '/credentials', { headers: { 'x-spinnaker-user': 'dave', 'x-spinnaker-roles': 'Dev, auditors' } });
    assert.deepEqual(withRoles.body.map((a: Json) => a.name).sort(), ['override-me', 'prod', 'staging']);
    for (const roles of ['dev ops', 'dev,,ops', 'dev,DEV']) {
      const bad = await call('GET', '/credentials', { headers: { 'x-spinnaker-user': 'dave', 'x-spinnaker-roles': roles } });
      assert.equal(bad.status, 401, roles);
      assert.match(bad.body.message, /X-SPINNAKER-ROLES is malformed/, roles);
    }
    const twoUsers = await call('GET', '/credentials', { headers: { 'x-spinnaker-user': 'carol, bob' } });
    assert.equal(twoUsers.status, 401);
    assert.match(twoUsers.body.message, /exactly one user/);
  });

  test('a READ-only user cannot operate: 403 with the reason, and no task is created', async () => {
    const before = await taskCount();
    // alice holds READ on prod (dev) but not WRITE (ops only).
    assert.equal((await as(TOKENS.alice)('/manifests/prod/web/deployment%20web-prod')).status, 200);
    for (const url of ['/kubernetes/ops', '/ops']) {
      const res = await call('POST', url, { token: TOKENS.alice, body: deployBody('prod') });
      assert.equal(res.status, 403, url);
      assert.equal(res.body.code, 'ACCESS_DENIED');
      assert.match(res.body.message, /Access denied to account prod - required authorization: WRITE \(user alice, roles: dev\)/);
    }
    const single = await call('POST', '/kubernetes/ops/deleteManifest', {
      token: TOKENS.alice,
      body: { account: 'prod', manifestName: 'deployment web-prod', location: 'web' },
    });
    assert.equal(single.status, 403);
    // One op on an account alice may write and one she may not: the whole request is refused.
    const mixed = await call('POST', '/kubernetes/ops', {
      token: TOKENS.alice,
      body: [...(deployBody('staging') as unknown[]), ...(deployBody('prod') as unknown[])],
    });
    assert.equal(mixed.status, 403);
    // clientRequestId does not get around it.
    assert.equal((await call('POST', '/kubernetes/ops?clientRequestId=r-1', { token: TOKENS.alice, body: deployBody('prod') })).status, 403);
    assert.equal(await taskCount(), before, 'no task was created');
    assert.equal(router.calls.length, 0, 'nothing reached an agent');

    // The same request from a user with WRITE runs (the refusal above is not an accident of the body).
    const allowed = await call('POST', '/kubernetes/ops', { token: TOKENS.bob, body: deployBody('prod') });
    assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
    assert.equal(await taskCount(), before + 1);
    const staging = await call('POST', '/kubernetes/ops', { token: TOKENS.alice, body: deployBody('staging') });
    assert.equal(staging.status, 200, 'roles compare normalised: " Dev " and "DEV" are dev');

    // Task controls need WRITE too; bob's task is not alice's to fail.
    const patch = await call('PATCH', `/kubernetes/task/${allowed.body.id}`, { token: TOKENS.alice, body: { retry: true } });
    assert.equal(patch.status, 403);
    assert.equal(patch.body.code, 'ACCESS_DENIED');
  });

  test('a user without READ does not see the account anywhere', async () => {
    const alice = as(TOKENS.alice);
    assert.deepEqual((await alice('/credentials')).body.map((a: Json) => a.name).sort(), ['prod', 'staging']);
    assert.deepEqual((await alice('/credentials?expand=true')).body.map((a: Json) => a.name).sort(), ['prod', 'staging']);
    const apps = (await alice('/applications')).body;
    assert.deepEqual(Object.keys(apps.find((a: Json) => a.name === 'shop').clusterNames).sort(), ['prod', 'staging']);
    assert.deepEqual(Object.keys((await alice('/applications/shop')).body.clusters).sort(), ['prod', 'staging']);
    assert.deepEqual(Object.keys((await alice('/applications/shop/clusters')).body).sort(), ['prod', 'staging']);
    const search = (await alice('/search?q=web&type=deployment')).body[0];
    assert.deepEqual([...new Set(search.results.map((r: Json) => r.account))].sort(), ['prod', 'staging']);
    const raw = (await alice('/applications/shop/rawResources')).body;
    assert.deepEqual([...new Set(raw.map((r: Json) => r.account))].sort(), ['prod', 'staging']);
    const managers = (await alice('/applications/shop/serverGroupManagers')).body;
    assert.deepEqual([...new Set(managers.map((m: Json) => m.account))].sort(), ['prod', 'staging']);

    // Named in the path: 403 with the reason (unknown accounts too, so existence does not leak).
    for (const url of [
      '/credentials/vault',
      '/manifests/vault/web/deployment%20web-vault',
      '/applications/shop/clusters/vault',
      '/serverGroups/vault/web/replicaSet%20x',
      '/instances/vault/web/pod%20x',
      '/credentials/no-such-account',
    ]) {
      const res = await alice(url);
      assert.equal(res.status, 403, url);
      assert.equal(res.body.code, 'ACCESS_DENIED', url);
      assert.match(res.body.message, /required authorization: READ/);
    }
    // Lists that carry accounts in the query are filtered too.
    assert.deepEqual((await alice('/serverGroups?ids=vault:web:deployment%20web-vault')).body, []);

    // bob (ops) sees vault and prod; his task on vault is invisible to alice.
    const bob = as(TOKENS.bob);
    assert.deepEqual((await bob('/credentials')).body.map((a: Json) => a.name).sort(), ['prod', 'vault']);
    const task = await call('POST', '/kubernetes/ops', { token: TOKENS.bob, body: deployBody('vault') });
    assert.equal(task.status, 200);
    assert.equal((await bob(`/task/${task.body.id}`)).status, 200);
    assert.equal((await alice(`/task/${task.body.id}`)).status, 404);
    assert.ok(!(await alice('/task')).body.some((t: Json) => t.id === task.body.id));
  });

  /** Polls GET /task/{id} as `token` until the task is no longer running. */
  async function finished(id: string, token: string): Promise<Json> {
    return waitFor(
      async () => {
        const res = await call('GET', `/task/${id}`, { token });
        return res.status === 200 && res.body.status.completed ? res.body : undefined;
      },
      { timeoutMs: 5000, what: `task ${id} to finish` },
    );
  }

  test("reusing another caller's clientRequestId does not hijack their retryably failed task, complete it, or read it", async () => {
    // bob (ops) holds WRITE on vault; alice (dev) holds WRITE on staging only and nothing on vault.
    const answer = router.responder;
    const vaultTimesOut = (account: string, request: Parameters<typeof answer>[1]) =>
      account === 'vault'
        ? { httpStatus: 0, errorCode: 'OPERATION_DEADLINE_EXCEEDED', message: 'the agent a1 did not answer within 30000 ms' }
        : answer(account, request);
    router.responder = vaultTimesOut;
    try {
      const requestId = 'orca-stage-7f3a';
      const bobs = await call('POST', `/kubernetes/ops?clientRequestId=${requestId}`, { token: TOKENS.bob, body: deployBody('vault') });
      assert.equal(bobs.status, 200, JSON.stringify(bobs.body));
      const failed = await finished(bobs.body.id, TOKENS.bob);
      assert.equal(failed.status.retryable, true, 'the deadline is a retryable failure');

      // alice sends her own operation under bob's request id: it gets a task of its own.
      const vaultCalls = router.calls.filter((c) => c.account === 'vault').length;
      const alices = await call('POST', `/kubernetes/ops?clientRequestId=${requestId}`, { token: TOKENS.alice, body: deployBody('staging') });
      assert.equal(alices.status, 200, JSON.stringify(alices.body));
      assert.notEqual(alices.body.id, bobs.body.id, "alice's request must not run under bob's task");
      const hers = await finished(alices.body.id, TOKENS.alice);
      assert.equal(hers.status.status, 'Orchestration completed.');
      assert.equal(hers.requestId, requestId);

      // bob's task is exactly as it failed: not re-run, not completed, still on vault only.
      const bobsNow = (await call('GET', `/task/${bobs.body.id}`, { token: TOKENS.bob })).body;
      assert.equal(bobsNow.status.failed, true);
      assert.equal(bobsNow.status.retryable, true);
      assert.notEqual(bobsNow.status.status, 'Orchestration completed.');
      assert.deepEqual(bobsNow.history, failed.history);
      assert.deepEqual((await store.getTask(bobs.body.id))?.request, deployBody('vault'));
      assert.equal(router.calls.filter((c) => c.account === 'vault').length, vaultCalls, 'nothing ran on vault');

      // alice cannot read bob's task or its history, by id or in the list.
      const read = await call('GET', `/task/${bobs.body.id}`, { token: TOKENS.alice });
      assert.equal(read.status, 404);
      assert.equal(read.body.code, 'TASK_NOT_FOUND');
      assert.ok(!(await as(TOKENS.alice)('/task')).body.some((t: Json) => t.id === bobs.body.id));
      assert.equal((await call('GET', `/kubernetes/task/${bobs.body.id}/owner`, { token: TOKENS.alice })).status, 404);

      // Each caller's repeat finds their own task: alice's is done, bob's (vault answers now) runs again.
      assert.equal(
        (await call('POST', `/kubernetes/ops?clientRequestId=${requestId}`, { token: TOKENS.alice, body: deployBody('staging') })).body.id,
        alices.body.id,
      );
      router.responder = answer;
      const resumed = await call('POST', `/kubernetes/ops?clientRequestId=${requestId}`, { token: TOKENS.bob, body: deployBody('vault') });
      assert.equal(resumed.body.id, bobs.body.id, "Orca's resume with the same id and payload gets the same task");
      const done = await finished(bobs.body.id, TOKENS.bob);
      assert.equal(done.status.status, 'Orchestration completed.');
      assert.ok(done.history.some((l: Json) => /^Re-initializing Orchestration Task \(failure is retryable\): clientRequestId/.test(l.status)));

      // bob reusing his own id for another account is a conflict that leaves the task alone.
      const other = await call('POST', `/kubernetes/ops?clientRequestId=${requestId}`, { token: TOKENS.bob, body: deployBody('prod') });
      assert.equal(other.status, 409);
      assert.equal(other.body.code, 'TASK_REQUEST_ID_CONFLICT');
      assert.match(other.body.message, /already used by task \S+ for deployManifest on vault; this request names deployManifest on prod/);

      // Concurrent first uses of one id by two callers do not share a task either.
      router.responder = vaultTimesOut;
      const [b, a] = await Promise.all([
        call('POST', '/kubernetes/ops?clientRequestId=orca-stage-race', { token: TOKENS.bob, body: deployBody('vault') }),
        call('POST', '/kubernetes/ops?clientRequestId=orca-stage-race', { token: TOKENS.alice, body: deployBody('staging') }),
      ]);
      assert.equal(b.status, 200);
      assert.equal(a.status, 200);
      assert.notEqual(a.body.id, b.body.id);
      assert.equal((await finished(b.body.id, TOKENS.bob)).status.retryable, true, "bob's task failed on its own, alice's run did not complete it");
      assert.equal((await call('GET', `/task/${b.body.id}`, { token: TOKENS.alice })).status, 404);
    } finally {
      router.responder = answer;
    }
  });

  test('a task stored before creators were recorded is not returned or resumed by clientRequestId', async () => {
    const now = Date.now();
    await store.createTask({
      id: 'T-UNRECORDED',
      requestId: 'legacy-request',
      account: 'vault',
      operationType: 'deployManifest',
      state: 'FAILED_RETRYABLE',
      history: [
        {
          phase: 'ORCHESTRATION',
          status: 'Orchestration failed: KubernetesDeployManifestOperation | KubernetesOperationException: [timed out]',
          timestamp: now,
        },
      ],
      resultObjects: [],
      request: deployBody('vault'),
      ownerHubId: 'hub-test',
      createdAt: now,
      updatedAt: now,
    });
    const calls = router.calls.length;
    const res = await call('POST', '/kubernetes/ops?clientRequestId=legacy-request', { token: TOKENS.bob, body: deployBody('vault') });
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'TASK_REQUEST_ID_CONFLICT');
    assert.match(res.body.message, /stored before the hub recorded who creates tasks/);
    assert.ok(!JSON.stringify(res.body).includes('T-UNRECORDED'), 'the task is not named to a caller who may not own it');
    assert.equal((await store.getTask('T-UNRECORDED'))?.state, 'FAILED_RETRYABLE');
    assert.equal(router.calls.length, calls);
    // Resuming it by id still works, with WRITE on its accounts.
    assert.equal((await call('POST', '/task/T-UNRECORDED:resume', { token: TOKENS.alice })).status, 404);
    assert.equal((await call('POST', '/task/T-UNRECORDED:resume', { token: TOKENS.bob })).status, 200);
  });

  test('an account naming no role is closed by default; malformed agent roles close an account to everyone', async () => {
    for (const token of Object.values(TOKENS)) {
      const names = (await as(token)('/credentials')).body.map((a: Json) => a.name);
      assert.ok(!names.includes('open-acct'), 'unrestrictedAccounts defaults to closed');
      assert.ok(!names.includes('broken'), 'a malformed role list never opens an account');
    }
    // "dev ops" would be neither dev nor ops: ops (bob) holds WRITE by the same list but gets nothing.
    assert.equal((await call('POST', '/kubernetes/ops', { token: TOKENS.bob, body: deployBody('broken') })).status, 403);
    const warning = log.lines().find((l) => l.account === 'broken' && /malformed/.test(l.msg));
    assert.ok(warning, 'the malformed list is logged');
    assert.match(warning.msg, /READ\[0\]: role "dev ops" contains whitespace/);
    assert.match(warning.msg, /closed to every user/);
  });

  test("the hub's per-account override replaces the agent's permissions", async () => {
    assert.deepEqual(
      (await as(TOKENS.auditor)('/credentials')).body.map((a: Json) => a.name),
      ['override-me'],
    );
    assert.equal((await as(TOKENS.alice)('/credentials/override-me')).status, 403, "the agent's READ: [dev] no longer applies");
    const shown = (await as(TOKENS.auditor)('/credentials/override-me')).body;
    assert.deepEqual(shown.permissions, { READ: ['auditors'] });
  });

  test('admin endpoints need an admin role; admin roles grant no account', async () => {
    const denied = await as(TOKENS.bob)('/admin/operations');
    assert.equal(denied.status, 403);
    assert.equal(denied.body.code, 'ACCESS_DENIED');
    assert.match(denied.body.message, /needs an admin role \(auth\.adminRoles\)/);
    assert.equal((await as(TOKENS.admin)('/admin/operations')).status, 200);
    assert.deepEqual((await as(TOKENS.admin)('/credentials')).body, []);
  });

  test('with auth.unrestrictedAccounts: open, an account naming no role is open to every authenticated user', async () => {
    const openAuth = createRestAuth(parseConfig(authConfigSchema, { ...AUTH, unrestrictedAccounts: 'open' }, 'test'));
    const open = buildApiServer({ store, router: new FakeRouter(), hubId: 'hub-open', logger: silentLogger(), auth: openAuth });
    try {
      const res = await open.inject({ method: 'GET', url: '/credentials', headers: { authorization: `Bearer ${TOKENS.admin}` } });
      assert.deepEqual(
        res.json().map((a: Json) => a.name),
        ['open-acct'],
      );
      assert.equal((await open.inject({ method: 'GET', url: '/credentials' })).statusCode, 401, 'still authenticated');
    } finally {
      await open.close();
    }
  });

  test('a shared secret, when configured, is required next to the trusted address', async () => {
    const secretAuth = createRestAuth(
      parseConfig(authConfigSchema, { ...AUTH, trustedGate: { sources: ['127.0.0.1'], sharedSecret: { value: 'gate-shared-secret-value' } } }, 'test'),
    );
    const gated = buildApiServer({ store, router: new FakeRouter(), hubId: 'hub-gate', logger: silentLogger(), auth: secretAuth });
    try {
      const without = await gated.inject({ method: 'GET', url: '/credentials', headers: { 'x-spinnaker-user': 'carol' }, remoteAddress: '127.0.0.1' });
      assert.equal(without.statusCode, 401);
      assert.match(without.json().message, /shared secret in X-Scale-Agent-Gate-Secret/);
      const wrong = await gated.inject({
        method: 'GET',
        url: '/credentials',
        headers: { 'x-spinnaker-user': 'carol', 'x-scale-agent-gate-secret': 'nope' },
        remoteAddress: '127.0.0.1',
      });
      assert.equal(wrong.statusCode, 401);
      const right = await gated.inject({
        method: 'GET',
        url: '/credentials',
        headers: { 'x-spinnaker-user': 'carol', 'x-scale-agent-gate-secret': 'gate-shared-secret-value' },
        remoteAddress: '127.0.0.1',
      });
      assert.equal(right.statusCode, 200);
    } finally {
      await gated.close();
    }
  });

  test('with auth disabled nothing is checked, but permissions are shown normalised and malformed ones closed (for Fiat)', async () => {
    const offAuth = createRestAuth(parseConfig(authConfigSchema, {}, 'test'));
    const off = buildApiServer({ store, router: new FakeRouter(), hubId: 'hub-off', logger: silentLogger(), auth: offAuth });
    try {
      const accounts = (await off.inject({ method: 'GET', url: '/credentials' })).json() as Json[];
      const byName = Object.fromEntries(accounts.map((a) => [a.name, a]));
      assert.equal(accounts.length, Object.keys(ACCOUNTS).length);
      assert.deepEqual(byName.staging.permissions, { READ: ['dev'], WRITE: ['dev'] });
      assert.deepEqual(byName.broken.permissions, { READ: [CLOSED_ROLE], WRITE: [CLOSED_ROLE] }, 'never shown as "no permissions"');
      assert.deepEqual(byName['open-acct'].permissions, {}, 'unrestricted, as Clouddriver shows Permissions.EMPTY');
    } finally {
      await off.close();
    }
  });
});

describe('REST authorization configuration', () => {
  function problems(auth: unknown): string[] {
    try {
      parseConfig(hubConfigSchema, { grpc: GRPC, auth }, 'hub.yaml');
    } catch (err) {
      assert.ok(isScaleAgentError(err, 'CONFIG_INVALID'), String(err));
      return (err.details.problems as string[]) ?? [];
    }
    return [];
  }

  test('a malformed role list is a start-up error naming the key', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ users: [{ name: 'a', roles: ['dev', 'dev ops'] }] }, /^auth\.users\[0\]\.roles\[1\]: role "dev ops" contains whitespace/],
      [{ users: [{ name: 'a', roles: [''] }] }, /^auth\.users\[0\]\.roles\[0\]: a role must not be empty/],
      [{ users: [{ name: 'a', roles: ['  '] }] }, /^auth\.users\[0\]\.roles\[0\]: a role must not be empty/],
      [{ users: [{ name: 'a', roles: [42] }] }, /^auth\.users\[0\]\.roles\[0\]: a role must be a string, got number/],
      [{ users: [{ name: 'a', roles: ['Dev', 'dev '] }] }, /^auth\.users\[0\]\.roles\[1\]: role "dev" is listed twice/],
      [{ users: [{ name: 'a', roles: 'dev, ops' }] }, /^auth\.users\[0\]\.roles: .*expected array/i],
      [{ tokens: [{ token: TOKENS.alice, user: 'a', roles: ['a,b'] }] }, /^auth\.tokens\[0\]\.roles\[0\]: .*contains a comma/],
      [{ adminRoles: ['ad min'] }, /^auth\.adminRoles\[0\]: .*whitespace/],
      [{ accounts: [{ name: 'prod-*', permissions: { READ: ['ok', 'not ok'] } }] }, /^auth\.accounts\[0\]\.permissions\.READ\[1\]: .*whitespace/],
      [
        { accounts: [{ name: 'prod-*', permissions: [{ READ: ['ok'] }, { WRITE: [null] }] }] },
        /^auth\.accounts\[0\]\.permissions\[1\]\.WRITE\[0\]: a role must be a string, got null/,
      ],
      [{ accounts: [{ name: 'prod-*', permissions: { DELETE: ['ops'] } }] }, /^auth\.accounts\[0\]\.permissions\.DELETE: unknown authorization/],
      [{ accounts: [{ name: 'prod-*', permissions: { READ: [] } }] }, /^auth\.accounts\[0\]\.permissions: must name at least one role/],
    ];
    for (const [auth, expected] of cases) {
      const found = problems(auth);
      assert.ok(
        found.some((p) => expected.test(p)),
        `${JSON.stringify(auth)} → ${JSON.stringify(found)}`,
      );
    }
  });

  test('the other auth mistakes stop the start too, naming the key', () => {
    assert.ok(problems({ enabled: true }).some((p) => /^auth\.enabled: .*no caller could authenticate/.test(p)));
    assert.ok(problems({ tokens: [{ token: 'short', user: 'a' }] }).some((p) => /^auth\.tokens\[0\]\.token: a token must be at least 16/.test(p)));
    assert.ok(
      problems({ tokens: [{ token: TOKENS.alice, tokenEnv: 'X', user: 'a' }] }).some((p) =>
        /^auth\.tokens\[0\]\.tokenEnv: set exactly one of token, tokenFile, tokenEnv/.test(p),
      ),
    );
    assert.ok(problems({ trustedGate: { sources: ['10.0.0.0/33'] } }).some((p) => /^auth\.trustedGate\.sources\[0\]: .*prefix length/.test(p)));
    assert.ok(problems({ trustedGate: { sources: ['gate.internal'] } }).some((p) => /^auth\.trustedGate\.sources\[0\]: .*not a CIDR block/.test(p)));
    assert.ok(
      problems({
        users: [
          { name: 'Ann', roles: [] },
          { name: 'ann', roles: [] },
        ],
      }).some((p) => /^auth\.users\[1\]\.name: user "ann" is listed twice/.test(p)),
    );
    assert.ok(problems({ unrestrictedAccounts: 'maybe' }).some((p) => /^auth\.unrestrictedAccounts:/.test(p)));

    const missingFile = parseConfig(authConfigSchema, { enabled: true, tokens: [{ tokenFile: '/nonexistent/token', user: 'a' }] }, 'test');
    assert.throws(
      () => createRestAuth(missingFile),
      (err: unknown) => isScaleAgentError(err, 'CONFIG_INVALID') && /auth\.tokens\[0\]\.tokenFile: cannot read \/nonexistent\/token/.test(err.message),
    );
    const unsetEnv = parseConfig(authConfigSchema, { enabled: true, tokens: [{ tokenEnv: 'SCALE_AGENT_TEST_UNSET_TOKEN', user: 'a' }] }, 'test');
    assert.throws(() => createRestAuth(unsetEnv, {}), /auth\.tokens\[0\]\.tokenEnv: environment variable SCALE_AGENT_TEST_UNSET_TOKEN is not set/);
  });

  test('the hub process refuses to start on a malformed role list and says which key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scale-agent-auth-'));
    try {
      const config = join(dir, 'hub.yaml');
      writeFileSync(
        config,
        toYaml({
          grpc: GRPC,
          server: { host: '127.0.0.1', port: 0 },
          database: { url: 'sqlite::memory:' },
          auth: { enabled: true, tokens: [{ token: TOKENS.alice, user: 'alice', roles: ['dev', 'release managers'] }] },
        }),
      );
      const run = spawnSync(process.execPath, ['bin/scale-agent.js', 'hub', '--config', config], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(run.status, 1, run.stderr);
      assert.match(run.stderr, /CONFIG_INVALID/);
      assert.match(run.stderr, /auth\.tokens\[0\]\.roles\[1\]: role "release managers" contains whitespace/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('REST authorization in a running hub', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scale-agent-auth-hub-'));
  let hub: Awaited<ReturnType<typeof startHub>>;

  before(async () => {
    const tokenFile = join(dir, 'admin.token');
    writeFileSync(tokenFile, `${TOKENS.admin}\n`);
    const config = parseConfig(
      hubConfigSchema,
      {
        server: { host: '127.0.0.1', port: 0 },
        grpc: GRPC,
        database: { url: 'sqlite::memory:' },
        auth: {
          enabled: true,
          adminRoles: ['admins'],
          tokens: [
            { tokenFile, user: 'root', roles: ['admins'] },
            { tokenEnv: 'SCALE_AGENT_TEST_ALICE', user: 'alice', roles: ['dev'] },
          ],
        },
      },
      'test',
    );
    process.env.SCALE_AGENT_TEST_ALICE = TOKENS.alice;
    hub = await startHub(config, silentLogger());
    await hub.store.upsertAccount(accountRecord('prod', { permissions: { READ: ['dev'] } }), NOW);
  });

  after(async () => {
    await hub?.close();
    delete process.env.SCALE_AGENT_TEST_ALICE;
    rmSync(dir, { recursive: true, force: true });
  });

  const get = async (path: string, token?: string) => {
    const res = await fetch(hub.restUrl + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, text: await res.text() };
  };

  test('tokens from a file and from the environment; /metrics is an admin endpoint; /health is open', async () => {
    assert.equal((await get('/health')).status, 200);
    assert.equal((await get('/credentials')).status, 401);
    const alice = await get('/credentials', TOKENS.alice);
    assert.equal(alice.status, 200);
    assert.deepEqual(
      JSON.parse(alice.text).map((a: Json) => a.name),
      ['prod'],
    );
    assert.equal((await get('/metrics')).status, 401);
    assert.equal((await get('/metrics', TOKENS.alice)).status, 403);
    const metrics = await get('/metrics', TOKENS.admin);
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /scale_agent_hub_/);
  });
});
