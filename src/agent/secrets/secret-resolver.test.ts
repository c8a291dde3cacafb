import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { isScaleAgentError } from '../../common/errors.ts';
import { silentLogger } from '../../common/logger.ts';
import { DefaultSecretResolver, resolveSetting } from './secret-resolver.ts';
import { parseSecretReference } from './secret-reference.ts';
import { VaultTestServer } from './testing/vault-server.ts';
import { vaultSchema } from '../secrets-config.ts';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

async function setup(): Promise<{ server: VaultTestServer; resolver: DefaultSecretResolver }> {
  const server = await VaultTestServer.start({ mounts: { secret: 2 } });
  open.push(server);
  const resolver = new DefaultSecretResolver({
    vault: vaultSchema.parse({ enabled: true, url: server.url, token: server.issueToken() }),
    logger: silentLogger(),
  });
  open.push(resolver);
  return { server, resolver };
}

const reads = (server: VaultTestServer) => server.requests.filter((r) => r.path.startsWith('secret/data/')).length;

describe('secret resolver', () => {
  test('one read of a document serves every key of it until invalidate(); a fresh resolve reads again', async () => {
    const { server, resolver } = await setup();
    server.put('secret', 'accounts', { prod: 'kubeconfig-prod', dev: 'kubeconfig-dev' });
    const prod = parseSecretReference('encryptedFile:vault!e:secret!p:accounts!k:prod');
    const dev = parseSecretReference('encryptedFile:vault!e:secret!p:accounts!k:dev');
    assert.deepEqual(await Promise.all([resolver.resolve(prod), resolver.resolve(dev)]), ['kubeconfig-prod', 'kubeconfig-dev']);
    assert.equal(reads(server), 1);

    server.put('secret', 'accounts', { prod: 'kubeconfig-prod-2', dev: 'kubeconfig-dev-2' });
    assert.equal(await resolver.resolve(prod), 'kubeconfig-prod', 'kept until told otherwise');
    assert.equal(await resolver.resolve(prod, { fresh: true }), 'kubeconfig-prod-2');
    assert.equal(reads(server), 2);
    server.put('secret', 'accounts', { prod: 'kubeconfig-prod-3', dev: 'kubeconfig-dev-3' });
    resolver.invalidate();
    assert.equal(await resolver.resolve(dev), 'kubeconfig-dev-3');
    assert.equal(reads(server), 3);
  });

  test('a failed read is not kept: the next resolve reads again', async () => {
    const { server, resolver } = await setup();
    const reference = parseSecretReference('encrypted:vault!e:secret!p:later!k:token');
    await assert.rejects(resolver.resolve(reference), (err) => isScaleAgentError(err, 'SECRET_UNAVAILABLE') && /not found/.test(err.message));
    server.put('secret', 'later', { token: 't' });
    assert.equal(await resolver.resolve(reference), 't');
  });

  test('a missing key names the keys there are, never their values; b:true decodes base64', async () => {
    const { server, resolver } = await setup();
    server.put('secret', 'app', { password: 'hunter2-value', certificate: Buffer.from('PEM text').toString('base64') });
    await assert.rejects(
      resolver.resolve(parseSecretReference('encrypted:vault!e:secret!p:app!k:token')),
      (err) =>
        isScaleAgentError(err, 'SECRET_UNAVAILABLE') &&
        err.message === 'encrypted:vault!e:secret!p:app!k:token: Vault secret secret/app (KV v2) has no key "token" (its keys: certificate, password)',
    );
    assert.equal(await resolver.resolve(parseSecretReference('encrypted:vault!e:secret!p:app!k:certificate!b:true')), 'PEM text');
  });

  test('Vault references are refused while secrets.vault is not enabled; a setting without a resolver refuses references', async () => {
    const resolver = new DefaultSecretResolver({ vault: vaultSchema.parse({}), logger: silentLogger() });
    open.push(resolver);
    await assert.rejects(
      resolver.resolve(parseSecretReference('encrypted:vault!e:secret!p:app!k:token')),
      (err) => isScaleAgentError(err, 'SECRET_REFERENCE_INVALID') && /Vault is not enabled \(secrets.vault.enabled: false\)/.test(err.message),
    );
    assert.equal(await resolveSetting('plain value', 'x', undefined), 'plain value');
    await assert.rejects(
      resolveSetting('encrypted:vault!e:secret!p:app!k:token', 'clouddriver.auth.token', undefined),
      (err) => isScaleAgentError(err, 'SECRET_REFERENCE_INVALID') && /^clouddriver.auth.token: encrypted:vault/.test(err.message),
    );
  });
});
