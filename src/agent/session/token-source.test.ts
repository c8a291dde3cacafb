import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isScaleAgentError } from '../../common/errors.ts';
import { silentLogger } from '../../common/logger.ts';
import { DefaultSecretResolver } from '../secrets/secret-resolver.ts';
import { VaultTestServer } from '../secrets/testing/vault-server.ts';
import { vaultSchema } from '../secrets-config.ts';
import { CommandTokenSource, createTokenSource, runTokenCommand } from './token-source.ts';

const config = (refreshIntervalSeconds: number) => ({ command: 'x', args: [], format: 'raw' as const, refreshIntervalSeconds });

test('a failed run keeps the previous token; without one the error surfaces', async () => {
  const answers: Array<string | Error> = [new Error('down'), 'tok-1', new Error('down again'), 'tok-2'];
  const source = new CommandTokenSource(config(0), silentLogger(), async () => {
    const next = answers.shift()!;
    if (next instanceof Error) throw next;
    return next;
  });
  await assert.rejects(source.get(), /down/);
  assert.equal(await source.get(), 'tok-1');
  assert.equal(await source.get(), 'tok-1');
  assert.equal(await source.get(), 'tok-2');
  assert.equal(source.current(), 'tok-2');
  assert.equal(source.runs, 4);
  source.close();
});

test('with a refresh interval, the token is reused until it is due', async () => {
  let n = 0;
  const source = new CommandTokenSource(config(3600), silentLogger(), async () => `tok-${++n}`);
  assert.equal(await source.get(), 'tok-1');
  assert.equal(await source.get(), 'tok-1');
  assert.equal(n, 1);
  source.close();
});

test('raw and json output; a token with a line break or an empty one is refused', async () => {
  const node = process.execPath;
  assert.equal(await runTokenCommand({ command: node, args: ['-e', 'console.log("  abc  ")'], format: 'raw', refreshIntervalSeconds: 0 }), 'abc');
  assert.equal(
    await runTokenCommand({ command: node, args: ['-e', 'console.log(JSON.stringify({token:"j"}))'], format: 'json', refreshIntervalSeconds: 0 }),
    'j',
  );
  await assert.rejects(
    runTokenCommand({ command: node, args: ['-e', 'console.log("{}")'], format: 'json', refreshIntervalSeconds: 0 }),
    /no string field "token"/,
  );
  await assert.rejects(
    runTokenCommand({ command: node, args: ['-e', 'console.log("a\\nb")'], format: 'raw', refreshIntervalSeconds: 0 }),
    (err) => isScaleAgentError(err, 'AUTH_TOKEN_UNAVAILABLE') && /control characters/.test(err.message),
  );
  await assert.rejects(runTokenCommand({ command: node, args: ['-e', 'process.exit(3)'], format: 'raw', refreshIntervalSeconds: 0 }), /failed/);
  assert.throws(() => createTokenSource({ token: 'a\nb' }, silentLogger()), /control characters/);
  assert.equal(createTokenSource({}, silentLogger()), undefined);
});

test('clouddriver.auth.token as a secret reference: read at each connection, again after invalidate(), the last good one kept', async () => {
  const vault = await VaultTestServer.start({ mounts: { secret: 2 } });
  const secrets = new DefaultSecretResolver({ vault: vaultSchema.parse({ enabled: true, url: vault.url, token: vault.issueToken() }), logger: silentLogger() });
  try {
    assert.throws(
      () => createTokenSource({ token: 'encrypted:vault!e:secret!p:hub' }, silentLogger(), secrets),
      (err) => isScaleAgentError(err, 'SECRET_REFERENCE_INVALID') && /^clouddriver.auth.token: the vault reference has no key/.test(err.message),
    );
    assert.throws(
      () => createTokenSource({ token: 'encrypted:vault!e:secret!p:hub!k:token' }, silentLogger()),
      (err) => isScaleAgentError(err, 'SECRET_REFERENCE_INVALID') && /no secret resolver/.test(err.message),
    );
    const source = createTokenSource({ token: 'encrypted:vault!e:secret!p:hub!k:token' }, silentLogger(), secrets)!;
    await assert.rejects(
      source.get(),
      (err) => isScaleAgentError(err, 'SECRET_UNAVAILABLE') && /^clouddriver.auth.token: Vault secret secret\/hub/.test(err.message),
    );
    vault.put('secret', 'hub', { token: 'tok-1' });
    assert.equal(await source.get(), 'tok-1');
    vault.put('secret', 'hub', { token: 'tok-2' });
    assert.equal(await source.get(), 'tok-1', 'read once until the configuration is reloaded');
    secrets.invalidate();
    assert.equal(await source.get(), 'tok-2');
    vault.put('secret', 'hub', {});
    secrets.invalidate();
    assert.equal(await source.get(), 'tok-2', 'a failed read keeps the last token');
    assert.equal(source.current(), 'tok-2');
  } finally {
    await secrets.close();
    await vault.close();
  }
});
