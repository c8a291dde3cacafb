/**
 * auth.trustedGate.serviceCalls below the routes: who the authenticator takes for Spinnaker's own
 * service calls (a trusted Gate source, no user, no token), what that principal may READ and WRITE
 * through the authorizing store and router (against a real SQLite store), and the key's schema. The
 * same over HTTP, through the API server: test/security/service-calls.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../common/config.ts';
import { isScaleAgentError } from '../../common/errors.ts';
import { silentLogger } from '../../common/logger.ts';
import type { OperationOutcome, OperationRequest, OperationRouter } from '../router/types.ts';
import { openStore } from '../store/open-store.ts';
import type { SqlStore } from '../store/sql-store.ts';
import { accountRecord } from '../store/testing/fixtures.ts';
import { AccountPolicy, CLOSED_ROLE } from './account-policy.ts';
import { authConfigSchema, type AuthConfig } from './auth-config.ts';
import { Authenticator, SERVICE_CALLS_USER, servicePrincipal, type AuthOutcome } from './authenticator.ts';
import { AuthorizedRouter } from './authorized-router.ts';
import { AuthorizedStore } from './authorized-store.ts';
import { CallerAccess, runAsCaller, taskCreator } from './caller-access.ts';

const NOW = 1_700_000_000_000;
const GATE = '10.42.7.15';
const ELSEWHERE = '10.1.2.3';
const TOKEN = 'bob-token-0123456789abcdef01';
const SECRET = 'gate-shared-secret-value';

/** Restricted, closed (no role, unrestrictedAccounts closed) and malformed: a service call reads them all. */
const ACCOUNTS: Record<string, Record<string, string[]>> = {
  prod: { READ: ['ops'], WRITE: ['ops'] },
  vault: { READ: ['security'], WRITE: ['security'] },
  'open-acct': {},
  broken: { READ: ['dev ops'] },
};

function authConfig(trustedGate: Record<string, unknown>): AuthConfig {
  return parseConfig(
    authConfigSchema,
    {
      enabled: true,
      adminRoles: ['admins'],
      tokens: [{ token: TOKEN, user: 'bob', roles: ['ops'] }],
      // An auth.users entry under the service principal's name must give service calls nothing.
      users: [{ name: SERVICE_CALLS_USER, roles: ['admins', 'ops'] }],
      trustedGate,
    },
    'test',
  );
}

function user(outcome: AuthOutcome): string | undefined {
  return outcome.ok ? `${outcome.principal.via}:${outcome.principal.user}` : undefined;
}

/** Records what reaches it; answers 200. */
class RecordingRouter implements OperationRouter {
  readonly types: string[] = [];
  async execute(account: string, request: OperationRequest): Promise<OperationOutcome> {
    this.types.push(request.type);
    return {
      id: 'op-1',
      account,
      httpStatus: 200,
      errorCode: null,
      message: '',
      body: null,
      written: [],
      timings: { receivedAt: 0, routedAt: null, sentAt: null, startedAt: null, finishedAt: null, syncedAt: null, resultAt: null },
      cacheSynced: true,
    };
  }
  isConnected(): boolean {
    return true;
  }
}

test('the authenticator: a read without a user from a trusted source is spinnaker-services only when serviceCalls is read', () => {
  const on = new Authenticator(authConfig({ sources: ['10.42.7.0/24'], serviceCalls: 'read' }));
  assert.equal(user(on.authenticate({}, GATE, 'GET')), `service:${SERVICE_CALLS_USER}`);
  assert.equal(user(on.authenticate({}, GATE, 'head')), `service:${SERVICE_CALLS_USER}`);
  const principal = on.authenticate({}, GATE, 'GET');
  assert.ok(principal.ok && principal.principal.roles.size === 0 && !principal.principal.admin, 'no roles from auth.users, never admin');

  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', undefined]) {
    const refused = on.authenticate({}, GATE, method);
    assert.equal(refused.ok, false, String(method));
    assert.equal(!refused.ok && refused.code, 'AUTHENTICATION_REQUIRED', String(method));
    assert.match(!refused.ok ? refused.message : '', /may only read .*needs a user/, String(method));
  }
  const untrusted = on.authenticate({}, ELSEWHERE, 'GET');
  assert.equal(!untrusted.ok && untrusted.code, 'AUTHENTICATION_REQUIRED');
  // With a user or a token, nothing changes.
  assert.equal(user(on.authenticate({ 'x-spinnaker-user': 'carol' }, GATE, 'GET')), 'gate:carol');
  assert.equal(user(on.authenticate({ 'x-spinnaker-user': 'carol' }, ELSEWHERE, 'GET')), undefined);
  assert.equal(user(on.authenticate({ authorization: `Bearer ${TOKEN}` }, GATE, 'GET')), 'token:bob');
  assert.equal(user(on.authenticate({ authorization: 'Bearer wrong-token-0123456789' }, GATE, 'GET')), undefined, 'a bad token never falls back');

  const off = new Authenticator(authConfig({ sources: ['10.42.7.0/24'] }));
  const refused = off.authenticate({}, GATE, 'GET');
  assert.equal(!refused.ok && refused.code, 'AUTHENTICATION_REQUIRED', 'the default is today’s 401');

  const secret = new Authenticator(authConfig({ sources: ['10.42.7.0/24'], serviceCalls: 'read', sharedSecret: { value: SECRET } }));
  const missing = secret.authenticate({}, GATE, 'GET');
  assert.equal(!missing.ok && missing.code, 'AUTHENTICATION_REQUIRED');
  assert.match(!missing.ok ? missing.message : '', /needs the shared secret in X-Scale-Agent-Gate-Secret/);
  const wrong = secret.authenticate({ 'x-scale-agent-gate-secret': 'nope' }, GATE, 'GET');
  assert.equal(!wrong.ok && wrong.code, 'AUTHENTICATION_FAILED');
  assert.ok(!wrong.ok && !wrong.message.includes(SECRET));
  assert.equal(user(secret.authenticate({ 'x-scale-agent-gate-secret': ` ${SECRET} ` }, GATE, 'GET')), `service:${SERVICE_CALLS_USER}`);
  assert.equal(user(secret.authenticate({ 'x-scale-agent-gate-secret': SECRET }, ELSEWHERE, 'GET')), undefined);
  assert.equal(user(secret.authenticate({ 'x-scale-agent-gate-secret': SECRET }, GATE, 'POST')), undefined);
});

describe('what spinnaker-services may do, against a real store', () => {
  let store: SqlStore;
  let authorized: AuthorizedStore;
  let caller: CallerAccess;
  let bob: CallerAccess;

  before(async () => {
    store = await openStore('sqlite::memory:', silentLogger());
    for (const [name, permissions] of Object.entries(ACCOUNTS)) await store.upsertAccount(accountRecord(name, { permissions }), NOW);
    const config = authConfig({ sources: [GATE], serviceCalls: 'read' });
    const policy = new AccountPolicy({ config, store, logger: silentLogger() });
    authorized = new AuthorizedStore(store, { policy, enforce: true, taskAccounts: (task) => (task.account === null ? undefined : [task.account]) });
    caller = new CallerAccess(servicePrincipal(), policy);
    const byToken = new Authenticator(config).authenticate({ authorization: `Bearer ${TOKEN}` }, GATE, 'GET');
    assert.ok(byToken.ok);
    bob = new CallerAccess(byToken.principal, policy);
  });

  after(async () => {
    await store.close();
  });

  test('/credentials in full: every account, restricted and closed ones included, with the permissions the hub enforces', async () => {
    const accounts = await runAsCaller(caller, () => authorized.listAccounts());
    assert.deepEqual(accounts.map((a) => a.name).sort(), Object.keys(ACCOUNTS).sort());
    const byName = Object.fromEntries(accounts.map((a) => [a.name, a.permissions]));
    assert.deepEqual(byName.vault, { READ: ['security'], WRITE: ['security'] });
    assert.deepEqual(byName['open-acct'], { READ: [CLOSED_ROLE], WRITE: [CLOSED_ROLE] });
    assert.deepEqual(byName.broken, { READ: [CLOSED_ROLE], WRITE: [CLOSED_ROLE] });
    assert.equal((await runAsCaller(caller, () => authorized.getAccount('vault')))?.name, 'vault');
    // The same store read by an ordinary caller stays filtered: the service principal is no shortcut for them.
    assert.deepEqual(
      (await runAsCaller(bob, () => authorized.listAccounts())).map((a) => a.name),
      ['prod'],
    );
  });

  test('never WRITE, even when no account can be named; refusals say why', async () => {
    assert.equal(await caller.can('vault', 'READ'), true);
    assert.equal(await caller.canUse('no-such-account'), true);
    assert.equal(await caller.can('prod', 'WRITE'), false);
    for (const accounts of [['prod'], []]) {
      await assert.rejects(
        caller.require(accounts, 'WRITE'),
        (err: unknown) =>
          isScaleAgentError(err, 'ACCESS_DENIED') &&
          /required authorization: WRITE \(user spinnaker-services: a call from the trusted Gate without a user .* may only read/.test(err.message),
      );
    }
    await bob.require([], 'WRITE');
    await bob.require(['prod'], 'WRITE');

    const target = new RecordingRouter();
    const router = new AuthorizedRouter(target);
    const resource = { group: 'apps', kind: 'Deployment', namespace: 'web', name: 'web' } as never;
    const scale = await runAsCaller(caller, () => router.execute('prod', { type: 'scale', target: resource, replicas: 0 }));
    assert.equal(scale.httpStatus, 403);
    assert.equal(scale.errorCode, 'ACCESS_DENIED');
    const read = await runAsCaller(caller, () => router.execute('vault', { type: 'get', target: resource }));
    assert.equal(read.httpStatus, 200);
    assert.deepEqual(target.types, ['get'], 'only the live read reached the router');
  });

  test('its task creator can never be a user’s', () => {
    assert.equal(taskCreator(servicePrincipal()), `service:${SERVICE_CALLS_USER}`);
    assert.equal(taskCreator({ user: SERVICE_CALLS_USER, via: 'gate' }), `user:${SERVICE_CALLS_USER}`);
  });
});

test('the key: typed, none by default, only none or read, unknown keys fail', () => {
  assert.equal(authConfig({ sources: [GATE] }).trustedGate?.serviceCalls, 'none');
  assert.equal(authConfig({ sources: [GATE], serviceCalls: 'read' }).trustedGate?.serviceCalls, 'read');
  const problems = (trustedGate: unknown): string => {
    const result = authConfigSchema.safeParse({ enabled: true, trustedGate });
    return result.success ? '' : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
  };
  assert.match(problems({ sources: [GATE], serviceCalls: 'write' }), /^trustedGate\.serviceCalls:/m);
  assert.match(problems({ sources: [GATE], serviceCalls: true }), /^trustedGate\.serviceCalls:/m);
  assert.match(problems({ sources: [GATE], serviceCall: 'read' }), /serviceCall\b/);
  assert.equal(problems({ sources: [GATE], serviceCalls: 'read' }), '');
});
