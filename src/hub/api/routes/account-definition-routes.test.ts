// The dynamic accounts REST API on a real store: /admin/accounts (create, get, list, update, delete,
// import with a dry run), Clouddriver's Account Management on /credentials, the status each account
// shows, and the admin role both need while REST authorization is on.
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Errors } from '../../../common/errors.ts';
import { silentLogger } from '../../../common/logger.ts';
import { forEachEngine } from '../../../../test/support/databases.ts';
import { authConfigSchema } from '../../auth/auth-config.ts';
import { createRestAuth } from '../../auth/rest-auth.ts';
import { DefinitionService } from '../../definitions/definition-service.ts';
import { openStore } from '../../store/open-store.ts';
import type { SqlStore } from '../../store/sql-store.ts';
import type { Store } from '../../store/types.ts';
import { DEPLOYMENTS, accountRecord, upsert } from '../../store/testing/fixtures.ts';
import { FakeRouter } from '../testing/fake-router.ts';
import { buildApiServer } from '../server.ts';

type Json = any;

const EU = { name: 'prod-eu', zoneId: 'eu-1', kubeconfigFile: 'encryptedFile:k8s!n:kubeconfigs!k:prod-eu', namespaces: ['web'] };
const TOKENS = { admin: 'admin-token-0123456789abcdef', dev: 'dev-token-0123456789abcdef01' };

interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  body?: unknown;
  yaml?: string;
  token?: string;
}

function call(app: FastifyInstance, { method, url, body, yaml, token }: Call): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (yaml !== undefined) headers['content-type'] = 'application/yaml';
  return app.inject({ method, url, headers, ...(yaml !== undefined ? { payload: yaml } : body !== undefined ? { payload: body as object } : {}) });
}

function expectError(res: LightMyRequestResponse, status: number, code: string, pattern?: RegExp): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.json().code, code, res.body);
  if (pattern) assert.match(res.json().message, pattern);
}

forEachEngine(
  'dynamic accounts REST API',
  (engine) => {
    let store: SqlStore;
    let app: FastifyInstance;
    let definitions: DefinitionService;
    const request = (c: Call) => call(app, c);
    const ok = async (c: Call, status = 200): Promise<Json> => {
      const res = await request(c);
      assert.equal(res.statusCode, status, `${c.method} ${c.url}: ${res.body}`);
      return res.body === '' ? undefined : res.json();
    };

    beforeEach(async () => {
      store = await engine.openStore();
      definitions = new DefinitionService({ store });
      app = buildApiServer({ store, router: new FakeRouter(), hubId: 'hub-test', logger: silentLogger(), definitions });
      // An account an agent serves from its own configuration.
      await store.upsertAccount(accountRecord('static', { agentId: 'agent-s' }), Date.now());
    });

    afterEach(async () => {
      await app.close();
      await store.close();
    });

    test('create, get, list: a dynamic account is ACTIVATING until an agent registers it, then ACTIVE; static accounts are listed too', async () => {
      const created = await ok({ method: 'POST', url: '/admin/accounts', body: EU }, 201);
      assert.equal(created.name, 'prod-eu');
      assert.equal(created.dynamic, true);
      assert.equal(created.status, 'ACTIVATING');
      assert.equal(created.state, 'ACTIVE');
      assert.equal(created.zoneId, 'eu-1');
      assert.equal(created.revision, 1);
      assert.equal(created.createdBy, 'anonymous');
      assert.deepEqual(created.definition, { kubeconfigFile: EU.kubeconfigFile, name: 'prod-eu', namespaces: ['web'] });
      assert.equal(created.agent, undefined);
      assert.deepEqual(await ok({ method: 'GET', url: '/admin/accounts/prod-eu' }), created);

      await store.upsertAccount(accountRecord('prod-eu', { agentId: 'agent-eu' }), Date.now());
      const listed: Json[] = await ok({ method: 'GET', url: '/admin/accounts' });
      assert.deepEqual(
        listed.map((a) => [a.name, a.dynamic, a.status, a.agent?.id]),
        [
          ['prod-eu', true, 'ACTIVE', 'agent-eu'],
          ['static', false, 'ACTIVE', 'agent-s'],
        ],
      );
      expectError(await request({ method: 'GET', url: '/admin/accounts/nope' }), 404, Errors.ACCOUNT_NOT_FOUND.code);
    });

    test('refusals: 409 for a name with a definition or served from an agent configuration, 400 naming the key', async () => {
      await ok({ method: 'POST', url: '/admin/accounts', body: EU }, 201);
      expectError(await request({ method: 'POST', url: '/admin/accounts', body: EU }), 409, Errors.ACCOUNT_DEFINITION_EXISTS.code);
      expectError(
        await request({ method: 'POST', url: '/admin/accounts', body: { name: 'static', serviceAccount: true } }),
        409,
        Errors.ACCOUNT_NOT_DYNAMIC.code,
        /served by agent agent-s from its own configuration/,
      );
      expectError(
        await request({ method: 'POST', url: '/admin/accounts', body: { name: 'x', kubeconfigFile: '/k', namespace: ['web'] } }),
        400,
        Errors.ACCOUNT_DEFINITION_INVALID.code,
        /namespace: unknown key; did you mean "namespaces"\?/,
      );
      expectError(
        await request({ method: 'POST', url: '/admin/accounts', body: { name: 'x', kubeconfigContents: 'apiVersion: v1\nkind: Config\n' } }),
        400,
        Errors.ACCOUNT_CREDENTIALS_IN_CLEAR.code,
        /kubeconfigContents holds a kubeconfig in the clear/,
      );
      expectError(await request({ method: 'POST', url: '/admin/accounts', body: [EU] }), 400, Errors.ACCOUNT_DEFINITION_INVALID.code);
      expectError(await request({ method: 'POST', url: '/admin/accounts', yaml: 'name: a\n---\nname: b\n' }), 400, Errors.REQUEST_INVALID.code);
      assert.equal((await store.listDefinitions()).length, 1);
    });

    test('YAML bodies; an update replaces the account, keeps zone and state left out, counts revisions only for changes', async () => {
      await ok({ method: 'POST', url: '/admin/accounts', yaml: 'name: prod-eu\nzoneId: eu-1\nstate: INACTIVE\nserviceAccount: true\ncacheThreads: 2\n' }, 201);
      const updated = await ok({ method: 'PUT', url: '/admin/accounts/prod-eu', yaml: 'serviceAccount: true\nnamespaces: [web]\n' });
      assert.deepEqual([updated.revision, updated.zoneId, updated.state, updated.status], [2, 'eu-1', 'INACTIVE', 'INACTIVE']);
      assert.deepEqual(updated.definition, { name: 'prod-eu', namespaces: ['web'], serviceAccount: true });
      // The body of a GET goes back unchanged: nothing is written.
      const again = await ok({ method: 'PUT', url: '/admin/accounts/prod-eu', body: updated });
      assert.equal(again.revision, 2);
      const zoneless = await ok({ method: 'PUT', url: '/admin/accounts/prod-eu', body: { ...updated, zoneId: null, state: 'ACTIVE' } });
      assert.deepEqual([zoneless.revision, zoneless.zoneId, zoneless.state], [3, null, 'ACTIVE']);
      const ignored = await ok({ method: 'PUT', url: '/admin/accounts/prod-eu', body: { serviceAccount: true, cacheThreads: 4 } });
      assert.match(ignored.ignored.cacheThreads, /watches/);
      expectError(
        await request({ method: 'PUT', url: '/admin/accounts/missing', body: { serviceAccount: true } }),
        404,
        Errors.ACCOUNT_DEFINITION_NOT_FOUND.code,
      );
      expectError(await request({ method: 'PUT', url: '/admin/accounts/static', body: { serviceAccount: true } }), 409, Errors.ACCOUNT_NOT_DYNAMIC.code);
      expectError(
        await request({ method: 'PUT', url: '/admin/accounts/prod-eu', body: { name: 'other', serviceAccount: true } }),
        400,
        Errors.ACCOUNT_DEFINITION_INVALID.code,
      );
    });

    test('status: FAILED with the reason while the agent cannot reach the cluster, ORPHANED once no agent serves it; shown in /credentials', async () => {
      await ok({ method: 'POST', url: '/admin/accounts', body: EU }, 201);
      const byCredentials = await ok({ method: 'GET', url: '/credentials/prod-eu' });
      assert.deepEqual([byCredentials.name, byCredentials.dynamic, byCredentials.status, byCredentials.type], ['prod-eu', true, 'ACTIVATING', 'kubernetes']);
      assert.equal(
        (await ok({ method: 'GET', url: '/credentials' })).some((a: Json) => a.name === 'prod-eu'),
        false,
        'Spinnaker lists accounts an agent registered',
      );

      await store.upsertAccount(accountRecord('prod-eu', { unreachableReason: 'cannot read secret kubeconfigs: forbidden' }), Date.now());
      const failed = await ok({ method: 'GET', url: '/admin/accounts/prod-eu' });
      assert.deepEqual([failed.status, failed.statusReason], ['FAILED', 'cannot read secret kubeconfigs: forbidden']);
      const listed: Json[] = await ok({ method: 'GET', url: '/credentials' });
      assert.deepEqual(
        listed.map((a) => [a.name, a.dynamic, a.status]),
        [
          ['prod-eu', true, 'FAILED'],
          ['static', false, 'ACTIVE'],
        ],
      );
      await store.setAccountStatus('prod-eu', 'disconnected', 'agent-1', null, Date.now() + 1);
      const single = await ok({ method: 'GET', url: '/credentials/prod-eu' });
      assert.equal(single.status, 'ORPHANED');
      assert.match(single.statusReason, /no agent serves it since/);
      assert.equal(single.agent.status, 'disconnected');
    });

    test('delete: withdrawn at once when no agent serves it (204); otherwise DELETING (202) until its agents stop it, then the row and cache go', async () => {
      await ok({ method: 'POST', url: '/admin/accounts', body: { name: 'unserved', serviceAccount: true } }, 201);
      assert.equal((await request({ method: 'DELETE', url: '/admin/accounts/unserved' })).statusCode, 204);
      assert.equal(await store.getDefinition('unserved'), undefined);

      await ok({ method: 'POST', url: '/admin/accounts', body: EU }, 201);
      await store.upsertAccount(accountRecord('prod-eu'), Date.now());
      await store.applyBatch({ account: 'prod-eu', changes: [upsert(DEPLOYMENTS, 'web', 'nginx')], progress: [] }, Date.now());
      const deleting = await ok({ method: 'DELETE', url: '/admin/accounts/prod-eu' }, 202);
      assert.deepEqual([deleting.status, deleting.state], ['DELETING', 'DELETING']);
      assert.match(deleting.statusReason, /waiting for agent agent-1 to stop serving it/);
      expectError(await request({ method: 'PUT', url: '/admin/accounts/prod-eu', body: EU }), 409, Errors.ACCOUNT_DEFINITION_CONFLICT.code, /being deleted/);
      // The agent stopped it (its AccountUpdate.removed marked the row disconnected): the next check finishes.
      await store.setAccountStatus('prod-eu', 'disconnected', 'agent-1', null, Date.now());
      assert.equal((await request({ method: 'DELETE', url: '/admin/accounts/prod-eu' })).statusCode, 204);
      assert.equal(await store.getDefinition('prod-eu'), undefined);
      assert.equal(await store.getAccount('prod-eu'), undefined);
      assert.equal(await store.countObjects('prod-eu'), 0);

      expectError(await request({ method: 'DELETE', url: '/admin/accounts/static' }), 409, Errors.ACCOUNT_NOT_DYNAMIC.code);
      expectError(await request({ method: 'DELETE', url: '/admin/accounts/missing' }), 404, Errors.ACCOUNT_DEFINITION_NOT_FOUND.code);
    });

    test('import: the dry run reports the plan and writes nothing; the real run writes it; a second run finds everything unchanged', async () => {
      const yaml = [
        'kubernetes:',
        '  accounts:',
        '    - name: prod-eu',
        '      kubeconfigFile: encryptedFile:k8s!n:kubeconfigs!k:prod-eu',
        '      cacheThreads: 4',
        '    - name: inline',
        '      kubeconfigContents: "apiVersion: v1"',
        '    - name: static',
        '      serviceAccount: true',
        '',
      ].join('\n');
      const dry = await ok({ method: 'POST', url: '/admin/accounts/import?dryRun=true&zoneId=eu-1', yaml });
      assert.equal(dry.dryRun, true);
      assert.deepEqual(dry.summary, { create: 1, update: 0, unchanged: 0, refused: 2 });
      assert.deepEqual(
        dry.accounts.map((a: Json) => [a.name, a.action, a.code ?? null]),
        [
          ['prod-eu', 'create', null],
          ['inline', 'refused', Errors.ACCOUNT_CREDENTIALS_IN_CLEAR.code],
          ['static', 'refused', Errors.ACCOUNT_NOT_DYNAMIC.code],
        ],
      );
      assert.ok(dry.accounts[0].ignored.cacheThreads);
      assert.equal(dry.accounts[0].write, undefined);
      assert.deepEqual(await store.listDefinitions(), [], 'a dry run writes nothing');

      const real = await ok({ method: 'POST', url: '/admin/accounts/import?zoneId=eu-1', yaml });
      assert.deepEqual([real.dryRun, real.summary.create], [false, 1]);
      const stored = await store.getDefinition('prod-eu');
      assert.deepEqual([stored?.zoneId, stored?.desiredState], ['eu-1', 'active']);

      const bodies = [{ '@type': 'kubernetes', name: 'prod-eu', kubeconfigFile: 'encryptedFile:k8s!n:kubeconfigs!k:prod-eu' }];
      assert.deepEqual((await ok({ method: 'POST', url: '/admin/accounts/import', body: bodies })).summary, { create: 0, update: 0, unchanged: 1, refused: 0 });
      const moved = await ok({ method: 'POST', url: '/admin/accounts/import?dryRun=true&state=INACTIVE', body: bodies });
      assert.deepEqual(moved.accounts[0].changes, ['state']);
      expectError(await request({ method: 'POST', url: '/admin/accounts/import?state=GONE', body: bodies }), 400, Errors.REQUEST_INVALID.code);
      expectError(await request({ method: 'POST', url: '/admin/accounts/import', yaml: 'spinnaker: {}\n' }), 400, Errors.ACCOUNT_DEFINITION_INVALID.code);
    });

    test("Clouddriver's Account Management: POST, PUT and DELETE /credentials for @type kubernetes, with Clouddriver's status codes", async () => {
      const body = { '@type': 'kubernetes', name: 'am', kubeconfigFile: '/kube/am', namespaces: ['web'], cacheThreads: 2 };
      const created = await ok({ method: 'POST', url: '/credentials', body });
      assert.deepEqual(created, { '@type': 'kubernetes', kubeconfigFile: '/kube/am', name: 'am', namespaces: ['web'] });
      assert.equal((await store.getDefinition('am'))?.desiredState, 'active');
      expectError(await request({ method: 'POST', url: '/credentials', body }), 400, Errors.ACCOUNT_DEFINITION_EXISTS.code);
      expectError(await request({ method: 'POST', url: '/credentials', body: { '@type': 'aws', name: 'ec2' } }), 400, Errors.ACCOUNT_TYPE_UNSUPPORTED.code);
      expectError(
        await request({ method: 'POST', url: '/credentials', body: { name: 'untyped', serviceAccount: true } }),
        400,
        Errors.ACCOUNT_DEFINITION_INVALID.code,
      );
      expectError(
        await request({ method: 'POST', url: '/credentials', body: { '@type': 'kubernetes', name: 'static', serviceAccount: true } }),
        400,
        Errors.ACCOUNT_NOT_DYNAMIC.code,
      );

      const saved = await ok({ method: 'PUT', url: '/credentials', body: { ...body, namespaces: ['api'] } });
      assert.deepEqual(saved.namespaces, ['api']);
      assert.equal((await store.getDefinition('am'))?.revision, 2);
      await ok({ method: 'PUT', url: '/credentials', body: { '@type': 'kubernetes', name: 'am2', serviceAccount: true } });
      assert.ok(await store.getDefinition('am2'), 'PUT /credentials creates too');
      assert.deepEqual((await ok({ method: 'PUT', url: '/credentials/am', body: { ...body, namespaces: ['db'] } })).namespaces, ['db']);
      expectError(
        await request({ method: 'PUT', url: '/credentials/am', body: { ...body, name: 'other' } }),
        400,
        Errors.REQUEST_INVALID.code,
        /Mismatched account names/,
      );
      expectError(await request({ method: 'PUT', url: '/credentials/nope', body: { ...body, name: 'nope' } }), 400, Errors.ACCOUNT_DEFINITION_NOT_FOUND.code);

      const typed: Json[] = await ok({ method: 'GET', url: '/credentials/type/kubernetes?limit=1' });
      assert.deepEqual(
        typed.map((d) => [d['@type'], d.name]),
        [['kubernetes', 'am']],
      );
      assert.deepEqual(await ok({ method: 'GET', url: '/credentials/type/aws' }), []);

      assert.equal((await request({ method: 'DELETE', url: '/credentials/am' })).statusCode, 200);
      assert.equal(await store.getDefinition('am'), undefined);
      assert.equal(
        (await request({ method: 'DELETE', url: '/credentials/never-was' })).statusCode,
        200,
        'Clouddriver deletes what is not there without complaint',
      );
      expectError(await request({ method: 'DELETE', url: '/credentials/static' }), 400, Errors.ACCOUNT_NOT_DYNAMIC.code);
    });
  },
  ['sqlite'],
);

// On every engine: what one engine stores as given another refuses or alters (PostgreSQL takes no NUL).
forEachEngine('dynamic accounts REST API: values no engine can keep as given', (engine) => {
  let store: SqlStore;
  let app: FastifyInstance;

  beforeEach(async () => {
    store = await engine.openStore();
    app = buildApiServer({ store, router: new FakeRouter(), hubId: 'hub-test', logger: silentLogger(), definitions: new DefinitionService({ store }) });
  });

  afterEach(async () => {
    await app.close();
    await store.close();
  });

  test('a zone with control characters or too long, in the body or in the import query, is a 400 naming zoneId, and nothing is stored', async () => {
    const refusals: Call[] = [
      { method: 'POST', url: '/admin/accounts', body: { name: 'nul-zone', zoneId: 'eu\u0000west', serviceAccount: true } },
      { method: 'POST', url: '/admin/accounts/import?zoneId=eu%00west', body: [{ name: 'imported', serviceAccount: true }] },
      { method: 'POST', url: `/admin/accounts/import?zoneId=${'z'.repeat(254)}`, body: [{ name: 'imported', serviceAccount: true }] },
    ];
    for (const refused of refusals) expectError(await call(app, refused), 400, Errors.ACCOUNT_DEFINITION_INVALID.code, /^zoneId: /);
    assert.deepEqual(await store.listDefinitions(), []);
  });
});

describe('dynamic accounts need an admin role while REST authorization is on', () => {
  let store: Store;
  let app: FastifyInstance;

  before(async () => {
    store = await openStore({ url: 'sqlite::memory:' }, silentLogger());
    const auth = createRestAuth(
      authConfigSchema.parse({
        enabled: true,
        adminRoles: ['admins'],
        tokens: [
          { token: TOKENS.admin, user: 'root', roles: ['admins'] },
          { token: TOKENS.dev, user: 'dev', roles: ['dev'] },
        ],
      }),
    );
    app = buildApiServer({ store, router: new FakeRouter(), hubId: 'hub-test', logger: silentLogger(), auth, definitions: new DefinitionService({ store }) });
  });

  after(async () => {
    await app.close();
    await store.close();
  });

  test('403 ACCESS_DENIED for a caller without one, on /admin/accounts and on the Account Management writes; the admin is recorded as the author', async () => {
    const refusals: Call[] = [
      { method: 'GET', url: '/admin/accounts' },
      { method: 'POST', url: '/admin/accounts', body: EU },
      { method: 'POST', url: '/admin/accounts/import?dryRun=true', body: [EU] },
      { method: 'POST', url: '/credentials', body: { '@type': 'kubernetes', ...EU } },
      { method: 'PUT', url: '/credentials', body: { '@type': 'kubernetes', ...EU } },
      { method: 'DELETE', url: '/credentials/prod-eu' },
      { method: 'GET', url: '/credentials/type/kubernetes' },
    ];
    for (const refused of refusals) {
      const res = await call(app, { ...refused, token: TOKENS.dev });
      expectError(res, 403, Errors.ACCESS_DENIED.code, /needs an admin role \(auth\.adminRoles\)/);
    }
    assert.deepEqual(await store.listDefinitions(), []);
    const created = await call(app, { method: 'POST', url: '/credentials', body: { '@type': 'kubernetes', ...EU }, token: TOKENS.admin });
    assert.equal(created.statusCode, 200, created.body);
    assert.equal((await store.getDefinition('prod-eu'))?.createdBy, 'user:root');
    const listed = await call(app, { method: 'GET', url: '/admin/accounts', token: TOKENS.admin });
    assert.deepEqual(
      listed.json().map((a: Json) => a.name),
      ['prod-eu'],
    );
  });
});
