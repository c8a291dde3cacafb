import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, afterEach, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { accountSchema } from '../../common/account-config.ts';
import { errorMessage, isScaleAgentError } from '../../common/errors.ts';
import { createLogger, silentLogger } from '../../common/logger.ts';
import { DefaultSecretResolver } from '../secrets/secret-resolver.ts';
import { VaultTestServer } from '../secrets/testing/vault-server.ts';
import { vaultSchema } from '../secrets-config.ts';
import { createTokenSource } from '../session/token-source.ts';
import { accountCredentials } from './account-credentials.ts';

function kubeconfig(server: string, token: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server } }],
    users: [{ name: 'u', user: { token } }],
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u', namespace: 'apps' } }],
    'current-context': 'ctx',
  });
}

let dir: string;
let server: VaultTestServer;
let resolver: DefaultSecretResolver;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'account-credentials-'));
  server = await VaultTestServer.start({ mounts: { secret: 2 } });
});
after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await resolver?.close();
});

function newResolver(logger = silentLogger()): DefaultSecretResolver {
  resolver = new DefaultSecretResolver({ vault: vaultSchema.parse({ enabled: true, url: server.url, token: server.issueToken() }), logger });
  return resolver;
}

const account = (fields: Record<string, unknown>) => accountSchema.parse({ name: 'prod', ...fields });

describe('account credentials', () => {
  test('a kubeconfig path, as before; insecure: true skips verifying the server certificate', async () => {
    const path = join(dir, 'plain.yaml');
    await writeFile(path, kubeconfig('https://plain.example:6443', 'tok'));
    const credentials = await accountCredentials(account({ kubeconfigFile: path }));
    assert.equal(credentials.server, 'https://plain.example:6443');
    assert.equal(credentials.insecureSkipTlsVerify, false);
    assert.deepEqual(credentials.auth, { type: 'token', token: 'tok' });
    assert.equal((await accountCredentials(account({ kubeconfigFile: path, insecure: true }))).insecureSkipTlsVerify, true);
  });

  test('kubeconfigFile: encryptedFile: loads the secret as the file; encrypted: is the path; kubeconfigContents takes either', async () => {
    const path = join(dir, 'by-path.yaml');
    await writeFile(path, kubeconfig('https://by-path.example', 'p'));
    server.put('secret', 'spinnaker/kubernetes', { config: kubeconfig('https://from-vault.example', 'v'), path });
    const secrets = newResolver();
    const fromFile = await accountCredentials(account({ kubeconfigFile: 'encryptedFile:vault!e:secret!p:spinnaker/kubernetes!k:config' }), { secrets });
    assert.equal(fromFile.server, 'https://from-vault.example');
    assert.equal(fromFile.namespace, 'apps');
    const fromPath = await accountCredentials(account({ kubeconfigFile: 'encrypted:vault!e:secret!p:spinnaker/kubernetes!k:path' }), { secrets });
    assert.equal(fromPath.server, 'https://by-path.example');
    const fromContents = await accountCredentials(account({ kubeconfigContents: 'encrypted:vault!e:secret!p:spinnaker/kubernetes!k:config', context: 'ctx' }), {
      secrets,
    });
    assert.equal(fromContents.server, 'https://from-vault.example');
  });

  test('a malformed reference fails with SECRET_REFERENCE_INVALID, not as a file that cannot be read', async () => {
    await assert.rejects(
      accountCredentials(account({ kubeconfigFile: 'encryptedFile:vault!e:secret!p:spinnaker/kubernetes!key:config' }), { secrets: newResolver() }),
      (err) =>
        isScaleAgentError(err, 'SECRET_REFERENCE_INVALID') &&
        /^account prod: kubeconfigFile: the vault reference has an unknown parameter "key"/.test(err.message),
    );
    await assert.rejects(
      accountCredentials(account({ kubeconfigFile: 'encryptedFile:vault!e:secret!p:spinnaker/kubernetes!k:config' })),
      (err) => isScaleAgentError(err, 'SECRET_REFERENCE_INVALID') && /no secret resolver/.test(err.message),
    );
  });

  test('secret values appear in no error message and no log line', async () => {
    const marker = 'S3CRET-MARKER-7f3a';
    const lines: string[] = [];
    const logger = createLogger({
      level: 'trace',
      destination: new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(chunk.toString('utf8'));
          done();
        },
      }),
    });
    server.put('secret', 'leaky', {
      // Not YAML: the parser quotes the offending text in its own errors.
      broken: `apiVersion: v1\nclusters: [ {name: ${marker}: bad\n`,
      // YAML, but no kubeconfig: a missing context.
      nocontext: `apiVersion: v1\nkind: Config\nusers: [{name: u, user: {token: ${marker}}}]\n`,
      badtoken: `${marker}\nsecond line`,
      good: kubeconfig('https://good.example', marker),
    });
    const secrets = newResolver(logger);
    const errors: unknown[] = [];
    const attempt = async (run: () => Promise<unknown>) => {
      try {
        await run();
        assert.fail('expected a failure');
      } catch (err) {
        errors.push(err);
      }
    };
    await attempt(() => accountCredentials(account({ kubeconfigFile: 'encryptedFile:vault!e:secret!p:leaky!k:broken' }), { secrets }));
    await attempt(() => accountCredentials(account({ kubeconfigFile: 'encryptedFile:vault!e:secret!p:leaky!k:nocontext', context: 'x' }), { secrets }));
    await attempt(() => accountCredentials(account({ kubeconfigFile: 'encryptedFile:vault!e:secret!p:leaky!k:absent' }), { secrets }));
    const tokens = createTokenSource({ token: 'encrypted:vault!e:secret!p:leaky!k:badtoken' }, logger, secrets)!;
    await attempt(() => tokens.get());
    await attempt(() => accountCredentials(account({ kubeconfigFile: 'encryptedFile:vault!e:secret!p:leaky!k:good', context: 'missing' }), { secrets }));
    // encrypted: (the value is a path) written where encryptedFile: (the value is the file) was meant, and a one-line value that names no file.
    await attempt(() => accountCredentials(account({ kubeconfigFile: 'encrypted:vault!e:secret!p:leaky!k:good' }), { secrets }));
    server.put('secret', 'leaky-path', { path: `/nowhere/${marker}` });
    await attempt(() => accountCredentials(account({ kubeconfigFile: 'encrypted:vault!e:secret!p:leaky-path!k:path' }), { secrets }));

    assert.deepEqual(
      errors.map((e) => (isScaleAgentError(e) ? e.code : errorMessage(e))),
      [
        'KUBECONFIG_INVALID',
        'KUBECONFIG_INVALID',
        'SECRET_UNAVAILABLE',
        'AUTH_TOKEN_UNAVAILABLE',
        'KUBECONFIG_INVALID',
        'KUBECONFIG_INVALID',
        'KUBECONFIG_INVALID',
      ],
    );
    assert.match(errorMessage(errors[5]), /the secret holds text with line breaks, not a path; reference a kubeconfig's contents with encryptedFile:/);
    assert.match(errorMessage(errors[6]), /^kubeconfig <the path encrypted:vault!e:secret!p:leaky-path!k:path holds>: cannot be read: ENOENT/);
    assert.match(
      errorMessage(errors[0]),
      /^kubeconfig from encryptedFile:vault!e:secret!p:leaky!k:broken: is not valid YAML \(BLOCK_IN_FLOW\) at line 2, column 20$/,
    );
    for (const err of errors) {
      const shown = `${errorMessage(err)} ${JSON.stringify(err)} ${isScaleAgentError(err) ? JSON.stringify(err.details) : ''}`;
      assert.ok(!shown.includes(marker), `the error shows the secret: ${shown}`);
    }
    assert.ok(lines.length > 0, 'the resolver and the token source logged');
    assert.ok(!lines.join('').includes(marker), 'a log line shows the secret');
    // The control: the value is there to be found, and is found when it is used.
    const credentials = await accountCredentials(account({ kubeconfigFile: 'encryptedFile:vault!e:secret!p:leaky!k:good' }), { secrets });
    assert.deepEqual(credentials.auth, { type: 'token', token: marker });
  });
});
