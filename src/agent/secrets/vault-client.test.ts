import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { isScaleAgentError } from '../../common/errors.ts';
import { silentLogger } from '../../common/logger.ts';
import { waitFor } from '../../common/time.ts';
import { VaultClient, type VaultClientTuning } from './vault-client.ts';
import { vaultSchema, type VaultConfig } from '../secrets-config.ts';
import { VaultTestServer, type VaultTestServerOptions } from './testing/vault-server.ts';

/** Short leases renew within a second or two; this bounds each wait generously for two shared cores. */
const WAIT = { timeoutMs: 15_000, intervalMs: 20 };
const ROLE = 'spinnaker-agent';
const JWT = 'eyJhbGciOiJSUzI1NiJ9.service-account-token.signature';
/**
 * Renewals at a quarter of the lease instead of two thirds: a busy machine may delay a timer by a few
 * hundred milliseconds, and the tests' leases are seconds long.
 */
const EARLY_RENEWAL: VaultClientTuning = { renewAtFraction: 1 / 4 };

let dir: string;
let jwtPath: string;
const servers: VaultTestServer[] = [];
const clients: VaultClient[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-client-'));
  jwtPath = join(dir, 'token');
  await writeFile(jwtPath, `${JWT}\n`);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function vault(options: VaultTestServerOptions = {}): Promise<VaultTestServer> {
  const server = await VaultTestServer.start({ kubernetesAuth: { role: ROLE, jwt: JWT }, ...options });
  servers.push(server);
  return server;
}

function client(server: VaultTestServer, options: Partial<VaultConfig>, tuning: VaultClientTuning = {}): VaultClient {
  const c = new VaultClient({ ...vaultSchema.parse({}), enabled: true, url: server.url, ...options }, silentLogger(), {
    env: {},
    serviceAccountTokenPath: jwtPath,
    ...tuning,
  });
  clients.push(c);
  return c;
}

const kubernetesAuth: Partial<VaultConfig> = { authMethod: 'KUBERNETES', role: ROLE };

describe('Vault client', () => {
  test('KV v2 and v1 reads, the version asked of sys/internal/ui/mounts once per mount, with the token and namespace headers', async () => {
    const server = await vault({ mounts: { secret: 2, legacy: 1 }, namespace: 'team-a' });
    server.put('secret', 'spinnaker/kubernetes', { config: 'apiVersion: v1', replicas: 3 });
    server.put('legacy', 'spinnaker/github', { token: 'gh' });
    const token = server.issueToken();
    const c = client(server, { token, namespace: 'team-a' });
    assert.deepEqual(Object.fromEntries((await c.read('secret', 'spinnaker/kubernetes')).values), { config: 'apiVersion: v1', replicas: '3' });
    assert.deepEqual(Object.fromEntries((await c.read('legacy', 'spinnaker/github')).values), { token: 'gh' });
    await c.read('secret', 'spinnaker/kubernetes');
    assert.deepEqual(
      server.requests.map((r) => `${r.method} ${r.path} ${r.status}`),
      [
        'GET auth/token/lookup-self 200',
        'GET sys/internal/ui/mounts/secret 200',
        'GET secret/data/spinnaker/kubernetes 200',
        'GET sys/internal/ui/mounts/legacy 200',
        'GET legacy/spinnaker/github 200',
        'GET secret/data/spinnaker/kubernetes 200',
      ],
    );
    assert.ok(server.requests.every((r) => r.token === token && r.namespace === 'team-a'));
  });

  test('a Vault without sys/internal/ui/mounts (404) is read as KV v1, as the Vault CLI does', async () => {
    const server = await vault({ mounts: { secret: 1 }, uiMounts: false });
    server.put('secret', 'app', { password: 'p' });
    const c = client(server, {}, { env: { VAULT_TOKEN: server.issueToken() } });
    assert.equal((await c.read('secret', 'app')).values.get('password'), 'p');
  });

  test('a refused token fails with SECRET_UNAVAILABLE and Vault\'s message; a missing secret says "not found"', async () => {
    const server = await vault();
    server.put('secret', 'app', { password: 'p' });
    const badToken = 'hvs.not-a-token';
    await assert.rejects(
      client(server, { token: badToken }).read('secret', 'app'),
      (err) =>
        isScaleAgentError(err, 'SECRET_UNAVAILABLE') &&
        /refused the configured token.*HTTP 403: permission denied/.test(err.message) &&
        !err.message.includes(badToken),
    );
    const c = client(server, { token: server.issueToken() });
    await assert.rejects(
      c.read('secret', 'nope'),
      (err) => isScaleAgentError(err, 'SECRET_UNAVAILABLE') && /Vault secret secret\/nope \(KV v2\): not found/.test(err.message),
    );
    await assert.rejects(
      c.read('other', 'app'),
      (err) => isScaleAgentError(err, 'SECRET_UNAVAILABLE') && /mount other: cannot learn its KV version: HTTP 403/.test(err.message),
    );
  });

  test('TOKEN needs a token; KUBERNETES a role; USERPASS a user and password (CONFIG_INVALID)', async () => {
    const server = await vault();
    assert.throws(
      () => client(server, {}),
      (err) => isScaleAgentError(err, 'CONFIG_INVALID') && /VAULT_TOKEN/.test(err.message),
    );
    assert.throws(
      () => client(server, { authMethod: 'KUBERNETES' }),
      (err) => isScaleAgentError(err, 'CONFIG_INVALID') && /secrets.vault.role/.test(err.message),
    );
    assert.throws(
      () => client(server, { authMethod: 'USERPASS', username: 'u' }),
      (err) => isScaleAgentError(err, 'CONFIG_INVALID') && /password/.test(err.message),
    );
    assert.throws(
      () => client(server, { url: 'not a url', token: 't' }),
      (err) => isScaleAgentError(err, 'CONFIG_INVALID') && /secrets.vault.url/.test(err.message),
    );
  });

  test('KUBERNETES logs in at auth/<path>/login with the role and the ServiceAccount token, once; a wrong role is refused', async () => {
    const server = await vault({ kubernetesAuth: { path: 'k8s-eu', role: ROLE, jwt: JWT } });
    server.put('secret', 'app', { password: 'p' });
    const c = client(server, { ...kubernetesAuth, path: 'k8s-eu' });
    assert.equal((await c.read('secret', 'app')).values.get('password'), 'p');
    assert.equal((await c.read('secret', 'app')).values.get('password'), 'p');
    assert.equal(server.logins, 1);
    assert.equal(server.requests[0]!.path, 'auth/k8s-eu/login');
    await assert.rejects(
      client(server, { authMethod: 'KUBERNETES', role: 'other', path: 'k8s-eu' }).read('secret', 'app'),
      (err) =>
        isScaleAgentError(err, 'SECRET_UNAVAILABLE') &&
        /login KUBERNETES \(role other at auth\/k8s-eu\) refused: HTTP 400: invalid role name/.test(err.message),
    );
  });

  test('USERPASS logs in at auth/<userAuthPath>/login/<username>', async () => {
    const server = await vault({ userpass: { path: 'people', username: 'spin', password: 'pw' } });
    server.put('secret', 'app', { password: 'p' });
    const c = client(server, { authMethod: 'USERPASS', username: 'spin', password: 'pw', userAuthPath: 'people' });
    assert.equal((await c.read('secret', 'app')).values.get('password'), 'p');
    assert.equal(server.requests[0]!.path, 'auth/people/login/spin');
    await assert.rejects(
      client(server, { authMethod: 'USERPASS', username: 'spin', password: 'wrong', userAuthPath: 'people' }).read('secret', 'app'),
      (err) => isScaleAgentError(err, 'SECRET_UNAVAILABLE') && /invalid username or password/.test(err.message) && !err.message.includes('wrong'),
    );
  });

  test('a renewable login token is renewed before its lease ends, and keeps serving without a new login', async () => {
    const server = await vault({ loginLease: { ttlSeconds: 2 } });
    server.put('secret', 'app', { password: 'p' });
    const c = client(server, kubernetesAuth, EARLY_RENEWAL);
    await c.read('secret', 'app');
    // Five renewals of a two-second lease span more than the lease: each came before the token expired,
    // or renew-self would have been refused and the keeper would have logged in again.
    await waitFor(() => server.renewals >= 5, { ...WAIT, what: 'five renewals' });
    assert.equal(server.logins, 1);
    assert.ok(server.requests.filter((r) => r.path === 'auth/token/renew-self').every((r) => r.status === 200));
    await c.read('secret', 'app');
    assert.equal(server.logins, 1);
  });

  test('a given renewable token (TOKEN) is kept alive too: its lease is looked up, then renewed', async () => {
    const server = await vault();
    server.put('secret', 'app', { password: 'p' });
    // lookup-self reports whole seconds left, as Vault does: a 2 s token reads as 1 s.
    const token = server.issueToken({ ttlSeconds: 2 });
    const c = client(server, { token }, EARLY_RENEWAL);
    await c.read('secret', 'app');
    await waitFor(() => server.renewals >= 2, { ...WAIT, what: 'two renewals' });
    assert.ok(server.valid(token));
    assert.equal((await c.read('secret', 'app')).values.get('password'), 'p');
  });

  test('a login token whose renewal is refused is replaced by a new login', async () => {
    const server = await vault({ loginLease: { ttlSeconds: 1 } });
    server.put('secret', 'app', { password: 'p' });
    const c = client(server, kubernetesAuth);
    await c.read('secret', 'app');
    server.refuseRenewals = true;
    await waitFor(() => server.logins >= 2, { ...WAIT, what: 'a second login' });
    assert.ok(server.requests.some((r) => r.path === 'auth/token/renew-self' && r.status === 403));
    assert.equal((await c.read('secret', 'app')).values.get('password'), 'p');
  });

  test('a login token capped at its max TTL, or not renewable, is replaced by a new login before it expires', async () => {
    const capped = await vault({ loginLease: { ttlSeconds: 2, maxTtlSeconds: 3 } });
    capped.put('secret', 'app', { password: 'p' });
    await client(capped, kubernetesAuth, EARLY_RENEWAL).read('secret', 'app');
    await waitFor(() => capped.logins >= 2, { ...WAIT, what: 'a login after the capped renewal' });
    assert.ok(capped.renewals >= 1);
    assert.ok(
      capped.requests.every((r) => r.status === 200),
      'nothing was refused: the new login came before the old token expired',
    );

    const fixed = await vault({ loginLease: { ttlSeconds: 1, renewable: false } });
    fixed.put('secret', 'app', { password: 'p' });
    await client(fixed, kubernetesAuth, EARLY_RENEWAL).read('secret', 'app');
    await waitFor(() => fixed.logins >= 2, { ...WAIT, what: 'a login before the unrenewable token expires' });
    assert.equal(fixed.renewals, 0);
    assert.ok(fixed.requests.every((r) => r.status === 200));
  });

  test('a read refused with a login token (revoked) logs in again and retries once', async () => {
    const server = await vault();
    server.put('secret', 'app', { password: 'p' });
    const c = client(server, kubernetesAuth);
    await c.read('secret', 'app');
    for (const r of server.requests) if (r.token !== undefined) server.revoke(r.token);
    assert.equal((await c.read('secret', 'app')).values.get('password'), 'p');
    assert.equal(server.logins, 2);
  });

  test('calls are bounded: a Vault that does not answer times out, an oversized answer is refused', async () => {
    const server = await vault();
    server.put('secret', 'big', { blob: 'x'.repeat(4096) });
    const token = server.issueToken();
    await client(server, { token }, { maxResponseBytes: 1024 }).kvVersion('secret');
    const small = client(server, { token }, { maxResponseBytes: 1024 });
    await assert.rejects(small.read('secret', 'big'), (err) => isScaleAgentError(err, 'SECRET_UNAVAILABLE') && /larger than 1024 bytes/.test(err.message));
    server.hang = true;
    await assert.rejects(
      client(server, { token }, { timeoutMs: 200 }).read('secret', 'big'),
      (err) => isScaleAgentError(err, 'SECRET_UNAVAILABLE') && /within 200 ms/.test(err.message),
    );
  });
});
