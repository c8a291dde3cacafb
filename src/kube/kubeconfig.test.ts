import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { isScaleAgentError } from '../common/errors.ts';
import { inClusterCredentials } from './in-cluster.ts';
import { kubeconfigContextNames, loadKubeconfig } from './kubeconfig.ts';

const CA = '-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n';
const b64 = (s: string) => Buffer.from(s).toString('base64');

function config(overrides: { clusters?: unknown[]; users?: unknown[]; contexts?: unknown[]; current?: string } = {}) {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': overrides.current ?? 'prod',
    clusters: overrides.clusters ?? [
      {
        name: 'prod-cluster',
        cluster: { server: 'https://10.0.0.1:6443', 'certificate-authority-data': b64(CA), 'tls-server-name': 'kubernetes', 'proxy-url': 'http://proxy:3128' },
      },
      { name: 'dev-cluster', cluster: { server: 'https://dev.example:443', 'insecure-skip-tls-verify': true } },
    ],
    users: overrides.users ?? [
      { name: 'prod-user', user: { token: 'abc' } },
      { name: 'dev-user', user: {} },
    ],
    contexts: overrides.contexts ?? [
      { name: 'prod', context: { cluster: 'prod-cluster', user: 'prod-user', namespace: 'payments' } },
      { name: 'dev', context: { cluster: 'dev-cluster', user: 'dev-user' } },
      { name: 'orphan', context: { cluster: 'nope', user: 'prod-user' } },
      { name: 'ghost-user', context: { cluster: 'dev-cluster', user: 'nobody' } },
    ],
  });
}

function expectInvalid(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(isScaleAgentError(err, 'KUBECONFIG_INVALID'), String(err));
    assert.match(err.message, pattern);
    return true;
  };
}

describe('loadKubeconfig', () => {
  it('resolves the current context with a token, CA data, TLS server name, proxy and namespace', async () => {
    const creds = await loadKubeconfig({ contents: config() });
    assert.deepEqual(creds, {
      server: 'https://10.0.0.1:6443',
      caPem: CA,
      insecureSkipTlsVerify: false,
      tlsServerName: 'kubernetes',
      proxyUrl: 'http://proxy:3128',
      namespace: 'payments',
      auth: { type: 'token', token: 'abc' },
    });
  });

  it('picks a named context', async () => {
    const creds = await loadKubeconfig({ contents: config(), context: 'dev' });
    assert.equal(creds.server, 'https://dev.example:443');
    assert.equal(creds.insecureSkipTlsVerify, true);
    assert.deepEqual(creds.auth, { type: 'none' });
  });

  it('reads certificate, key, CA and token files relative to the kubeconfig directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kubeconfig-'));
    await mkdir(join(dir, 'certs'));
    await writeFile(join(dir, 'certs', 'ca.crt'), CA);
    await writeFile(join(dir, 'certs', 'client.crt'), 'CERT');
    await writeFile(join(dir, 'certs', 'client.key'), 'KEY');
    const path = join(dir, 'config');
    await writeFile(
      path,
      config({
        clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority': 'certs/ca.crt' } }],
        users: [
          { name: 'cert', user: { 'client-certificate': 'certs/client.crt', 'client-key': './certs/client.key' } },
          { name: 'file', user: { tokenFile: 'token' } },
          { name: 'data', user: { 'client-certificate-data': b64('C2'), 'client-key-data': b64('K2') } },
        ],
        contexts: [
          { name: 'cert', context: { cluster: 'c', user: 'cert' } },
          { name: 'file', context: { cluster: 'c', user: 'file' } },
          { name: 'data', context: { cluster: 'c', user: 'data' } },
        ],
        current: 'cert',
      }),
    );
    const certCreds = await loadKubeconfig({ path });
    assert.equal(certCreds.caPem, CA);
    assert.deepEqual(certCreds.auth, { type: 'clientCertificate', certPem: 'CERT', keyPem: 'KEY' });
    assert.deepEqual((await loadKubeconfig({ path, context: 'file' })).auth, { type: 'tokenFile', path: join(dir, 'token') });
    assert.deepEqual((await loadKubeconfig({ path, context: 'data' })).auth, { type: 'clientCertificate', certPem: 'C2', keyPem: 'K2' });
    assert.deepEqual(await kubeconfigContextNames({ path }), { contexts: ['cert', 'file', 'data'], current: 'cert' });
  });

  it('parses exec plugins, resolving a relative command against the kubeconfig directory', async () => {
    const contents = config({
      users: [
        {
          name: 'u',
          user: {
            exec: {
              apiVersion: 'client.authentication.k8s.io/v1',
              command: './bin/get-token',
              args: ['--cluster', 'x'],
              env: [{ name: 'REGION', value: 'eu' }],
              interactiveMode: 'Never',
            },
          },
        },
        { name: 'p', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'aws' } } },
      ],
      contexts: [
        { name: 'rel', context: { cluster: 'dev-cluster', user: 'u' } },
        { name: 'path', context: { cluster: 'dev-cluster', user: 'p' } },
      ],
      current: 'rel',
    });
    const rel = await loadKubeconfig({ contents, path: '/etc/kube/config' });
    assert.deepEqual(rel.auth, {
      type: 'exec',
      command: '/etc/kube/bin/get-token',
      args: ['--cluster', 'x'],
      env: { REGION: 'eu' },
      apiVersion: 'client.authentication.k8s.io/v1',
    });
    const onPath = await loadKubeconfig({ contents, path: '/etc/kube/config', context: 'path' });
    assert.deepEqual(onPath.auth, { type: 'exec', command: 'aws', args: [], env: {}, apiVersion: 'client.authentication.k8s.io/v1beta1' });
  });

  it('names the file and the missing context, cluster or user', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kubeconfig-'));
    const path = join(dir, 'cfg.yaml');
    await writeFile(path, config());
    await assert.rejects(
      loadKubeconfig({ path, context: 'staging' }),
      expectInvalid(new RegExp(`${path.replace(/[.]/g, '\\.')}.*context "staging" not found \\(known: prod, dev, orphan, ghost-user\\)`)),
    );
    await assert.rejects(loadKubeconfig({ path, context: 'orphan' }), expectInvalid(/cluster "nope" not found/));
    await assert.rejects(loadKubeconfig({ path, context: 'ghost-user' }), expectInvalid(/user "nobody" not found/));
    await assert.rejects(loadKubeconfig({ path: join(dir, 'missing') }), expectInvalid(/missing: cannot be read/));
  });

  it('rejects malformed documents without crashing', async () => {
    await assert.rejects(loadKubeconfig({ contents: 'clusters: [unclosed' }), expectInvalid(/not valid YAML/));
    await assert.rejects(loadKubeconfig({ contents: '- a\n- b\n' }), expectInvalid(/not a YAML mapping/));
    await assert.rejects(loadKubeconfig({ contents: 'clusters: 3\n' }), expectInvalid(/no context given/));
    await assert.rejects(
      loadKubeconfig({ contents: config({ clusters: [{ name: 'prod-cluster', cluster: { server: 42 } }] }) }),
      expectInvalid(/server must be a string/),
    );
    await assert.rejects(
      loadKubeconfig({ contents: config({ clusters: [{ name: 'prod-cluster', cluster: { server: 'not a url' } }] }) }),
      expectInvalid(/not a URL/),
    );
    await assert.rejects(loadKubeconfig({ contents: config({ clusters: [{ name: 'prod-cluster', cluster: {} }] }) }), expectInvalid(/has no server/));
    await assert.rejects(
      loadKubeconfig({ contents: config({ users: [{ name: 'prod-user', user: { 'client-certificate-data': b64('x') } }] }) }),
      expectInvalid(/without its key/),
    );
    await assert.rejects(
      loadKubeconfig({ contents: config({ users: [{ name: 'prod-user', user: { 'auth-provider': { name: 'gcp' } } }] }) }),
      expectInvalid(/auth-provider/),
    );
    await assert.rejects(
      loadKubeconfig({ contents: config({ users: [{ name: 'prod-user', user: { exec: { command: 'x' } } }] }) }),
      expectInvalid(/no apiVersion/),
    );
    await assert.rejects(
      loadKubeconfig({ contents: config({ users: [{ name: 'prod-user', user: { exec: { apiVersion: 'v', command: 'x', env: 'bad' } } }] }) }),
      expectInvalid(/env must be a list/),
    );
  });

  it('names where a file is not YAML by position only, never quoting its lines (the path may name any file on the agent)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kubeconfig-leak-'));
    const path = join(dir, 'credentials');
    await writeFile(path, '[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = SUPERSECRET\n');
    await assert.rejects(loadKubeconfig({ path }), (err: unknown) => {
      assert.ok(isScaleAgentError(err, 'KUBECONFIG_INVALID'), String(err));
      assert.match(err.message, /credentials: is not valid YAML \(UNEXPECTED_TOKEN\) at line 2, column 1$/);
      assert.doesNotMatch(err.message, /SUPERSECRET|AKIAEXAMPLE/);
      return true;
    });
  });

  it('refuses a path that is no regular file at once, instead of reading a device or waiting on a pipe', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kubeconfig-special-'));
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(loadKubeconfig({ path: '/dev/zero' }), expectInvalid(/\/dev\/zero: cannot be read: not a regular file \(a device, pipe or socket\)/));
    await assert.rejects(loadKubeconfig({ path: fifo }), expectInvalid(/pipe: cannot be read: not a regular file/));
    await assert.rejects(loadKubeconfig({ path: dir }), expectInvalid(/cannot be read: not a regular file \(a directory\)/));
    // A certificate file the kubeconfig names is read the same way.
    await assert.rejects(
      loadKubeconfig({ contents: config({ clusters: [{ name: 'prod-cluster', cluster: { server: 'https://a', 'certificate-authority': '/dev/urandom' } }] }) }),
      expectInvalid(/certificate-authority: cannot read \/dev\/urandom: not a regular file/),
    );
  });
});

describe('inClusterCredentials', () => {
  it('uses the service host, CA, namespace and the token file by path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sa-'));
    await writeFile(join(dir, 'token'), 'sa-token');
    await writeFile(join(dir, 'ca.crt'), CA);
    await writeFile(join(dir, 'namespace'), 'agents\n');
    const creds = inClusterCredentials({ env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: dir });
    assert.deepEqual(creds, {
      server: 'https://[fd00::1]:443',
      caPem: CA,
      insecureSkipTlsVerify: false,
      auth: { type: 'tokenFile', path: join(dir, 'token') },
      namespace: 'agents',
    });
  });

  it('fails clearly outside a cluster', () => {
    assert.throws(() => inClusterCredentials({ env: {} }), expectInvalid(/not running in a cluster/));
    assert.throws(
      () => inClusterCredentials({ env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: '/nonexistent' }),
      expectInvalid(/unreadable/),
    );
  });
});
