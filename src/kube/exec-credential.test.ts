import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isScaleAgentError } from '../common/errors.ts';
import { KubeClient } from './client.ts';
import type { ClusterAuth } from './credentials.ts';
import { ExecCredentialSource, parseExecCredential } from './exec-credential.ts';
import { sendJson, startFakeApiServer, status, type FakeApiServer } from './testing/fake-api-server.ts';

const V1 = 'client.authentication.k8s.io/v1';

/**
 * Writes a credential plugin: a node script that counts its runs in a file and prints an ExecCredential
 * built by `statusJs` (a JS expression over `n`, the run number, and `info`, the parsed KUBERNETES_EXEC_INFO).
 */
async function plugin(statusJs: string, apiVersion = V1): Promise<{ command: string; runs: () => Promise<number>; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'exec-plugin-'));
  const counter = join(dir, 'runs');
  await writeFile(counter, '0');
  const script = join(dir, 'plugin.mjs');
  await writeFile(
    script,
    `#!${process.execPath}
import { readFileSync, writeFileSync } from 'node:fs';
const n = Number(readFileSync(${JSON.stringify(counter)}, 'utf8')) + 1;
writeFileSync(${JSON.stringify(counter)}, String(n));
const info = JSON.parse(process.env.KUBERNETES_EXEC_INFO);
if (process.env.FAIL) { console.error('login required'); process.exit(1); }
const status = ${statusJs};
process.stdout.write(typeof status === 'string' ? status : JSON.stringify({ apiVersion: ${JSON.stringify(apiVersion)}, kind: 'ExecCredential', status }));
`,
  );
  await chmod(script, 0o755);
  return { command: script, runs: async () => Number(await readFile(counter, 'utf8')), dir };
}

const servers: FakeApiServer[] = [];
const clients: KubeClient[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(servers.map((s) => s.close()));
});

describe('exec credential plugins', () => {
  it('runs the plugin once while its token is valid, and again after a 401', async () => {
    const p = await plugin(`({ token: 'tok-' + n + '-' + info.spec.interactive, expirationTimestamp: new Date(Date.now() + 3600e3).toISOString() })`);
    let accepted = 'tok-1-false';
    const server = await startFakeApiServer('http', (req, res) =>
      req.headers.authorization === `Bearer ${accepted}` ? sendJson(res, 200, { ok: true }) : sendJson(res, 401, status(401, 'Unauthorized')),
    );
    servers.push(server);
    const auth: ClusterAuth = { type: 'exec', command: p.command, args: [], env: {}, apiVersion: V1 };
    const client = new KubeClient({ server: server.url, insecureSkipTlsVerify: false, auth });
    clients.push(client);
    await Promise.all([client.json({ path: '/a' }), client.json({ path: '/b' }), client.json({ path: '/c' })]);
    assert.equal(await p.runs(), 1);
    accepted = 'tok-2-false';
    assert.deepEqual(await client.json({ path: '/d' }), { ok: true });
    assert.equal(await p.runs(), 2);
  });

  it('re-runs the plugin when the credential has expired', async () => {
    const p = await plugin(`({ token: 't' + n, expirationTimestamp: new Date(Date.now() + 1000).toISOString() })`);
    const source = new ExecCredentialSource({ command: p.command, args: [], env: {}, apiVersion: V1 });
    assert.equal((await source.get()).token, 't1');
    // Within the refresh skew of expiry: fetched again.
    assert.equal((await source.get()).token, 't2');
  });

  it('passes args and env, and supports v1beta1', async () => {
    const p = await plugin(
      `({ token: process.argv.slice(2).join(',') + ':' + process.env.REGION + ':' + info.apiVersion })`,
      'client.authentication.k8s.io/v1beta1',
    );
    const source = new ExecCredentialSource({
      command: p.command,
      args: ['a', 'b'],
      env: { REGION: 'eu' },
      apiVersion: 'client.authentication.k8s.io/v1beta1',
    });
    assert.deepEqual(await source.get(), { token: 'a,b:eu:client.authentication.k8s.io/v1beta1' });
  });

  it('presents a client certificate the plugin returns', async () => {
    const server = await startFakeApiServer(
      'https',
      (req, res) => {
        const socket = (req as unknown as { socket: import('node:tls').TLSSocket }).socket;
        sendJson(res, 200, { cn: socket.getPeerCertificate().subject?.CN ?? null });
      },
      { requestClientCert: true },
    );
    servers.push(server);
    const tls = server.tls!;
    const p = await plugin(`({ clientCertificateData: ${JSON.stringify(tls.clientCertPem)}, clientKeyData: ${JSON.stringify(tls.clientKeyPem)} })`);
    const client = new KubeClient({
      server: server.url,
      caPem: tls.caPem,
      insecureSkipTlsVerify: false,
      auth: { type: 'exec', command: p.command, args: [], env: {}, apiVersion: V1 },
    });
    clients.push(client);
    assert.deepEqual(await client.json({ path: '/' }), { cn: 'test-user' });
  });

  it('fails with typed errors when the plugin fails or prints garbage', async () => {
    const failing = await plugin(`({ token: 'x' })`);
    await assert.rejects(
      new ExecCredentialSource({ command: failing.command, args: [], env: { FAIL: '1' }, apiVersion: V1 }).get(),
      (err: unknown) => isScaleAgentError(err, 'KUBE_TRANSPORT_ERROR') && /login required/.test(err.message),
    );
    const garbage = await plugin(`'not json'`);
    await assert.rejects(new ExecCredentialSource({ command: garbage.command, args: [], env: {}, apiVersion: V1 }).get(), (err: unknown) =>
      isScaleAgentError(err, 'KUBECONFIG_INVALID'),
    );
    await assert.rejects(new ExecCredentialSource({ command: '/nonexistent/plugin', args: [], env: {}, apiVersion: V1 }).get(), (err: unknown) =>
      isScaleAgentError(err, 'KUBE_TRANSPORT_ERROR'),
    );
    await assert.rejects(
      new ExecCredentialSource({ command: failing.command, args: [], env: {}, apiVersion: 'client.authentication.k8s.io/v1alpha1' }).get(),
      (err: unknown) => isScaleAgentError(err, 'KUBECONFIG_INVALID'),
    );
  });

  it('validates ExecCredential output', () => {
    const ok = JSON.stringify({ apiVersion: V1, kind: 'ExecCredential', status: { token: 't', expirationTimestamp: '2030-01-01T00:00:00Z' } });
    assert.deepEqual(parseExecCredential(ok, V1, 'p'), { token: 't', expiresAt: Date.parse('2030-01-01T00:00:00Z') });
    const bad = (doc: unknown) =>
      assert.throws(
        () => parseExecCredential(JSON.stringify(doc), V1, 'p'),
        (err: unknown) => isScaleAgentError(err, 'KUBECONFIG_INVALID'),
      );
    bad({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: { token: 't' } });
    bad({ apiVersion: V1, kind: 'Other', status: { token: 't' } });
    bad({ apiVersion: V1, kind: 'ExecCredential' });
    bad({ apiVersion: V1, kind: 'ExecCredential', status: {} });
    bad({ apiVersion: V1, kind: 'ExecCredential', status: { clientCertificateData: 'c' } });
    bad({ apiVersion: V1, kind: 'ExecCredential', status: { token: 't', expirationTimestamp: 'soon' } });
    bad(null);
  });
});
