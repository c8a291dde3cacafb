import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../common/config.ts';
import { isScaleAgentError } from '../common/errors.ts';
import { reflectorTuning } from './agent.ts';
import { accountSchema, agentConfigSchema } from './config.ts';

test('reflector, discovery, start and health settings have documented defaults', () => {
  const config = parseConfig(agentConfigSchema, {}, 'test');
  assert.deepEqual(config.kubernetes.reflector, {
    pageSize: 500,
    backoff: { initialMs: 800, maxMs: 30_000 },
    forbiddenRetrySeconds: 300,
    stallTimeoutSeconds: 900,
    watchTimeoutSeconds: { min: 300, max: 600 },
  });
  assert.deepEqual(config.kubernetes.discovery, { intervalSeconds: 300 });
  assert.equal(config.kubernetes.accountInitConcurrency, 16);
  assert.equal(config.kubernetes.accountStartIntervalMs, 5);
  assert.deepEqual(config.health, { reflectorStuckSeconds: 300 });
  assert.deepEqual(reflectorTuning(config), {
    pageSize: 500,
    backoff: { initialMs: 800, maxMs: 30_000 },
    forbiddenRetryMs: 300_000,
    stallTimeoutMs: 900_000,
    watchTimeoutSeconds: { min: 300, max: 600 },
  });
});

test('inconsistent reflector settings name the key', () => {
  assert.throws(
    () =>
      parseConfig(
        agentConfigSchema,
        { kubernetes: { reflector: { watchTimeoutSeconds: { min: 600, max: 300 }, backoff: { initialMs: 5000, maxMs: 1000 } } } },
        'agent.yaml',
      ),
    (err: unknown) =>
      isScaleAgentError(err, 'CONFIG_INVALID') &&
      /kubernetes\.reflector\.watchTimeoutSeconds\.max/.test(err.message) &&
      /kubernetes\.reflector\.backoff\.maxMs/.test(err.message),
  );
  assert.throws(() => parseConfig(agentConfigSchema, { kubernetes: { reflector: { pageSize: 0 } } }, 'agent.yaml'), /kubernetes\.reflector\.pageSize/);
  assert.throws(() => parseConfig(agentConfigSchema, { health: { stuckSeconds: 1 } }, 'agent.yaml'), /health/);
});

test('the field manager defaults to scale-agent and must be a name Kubernetes accepts', () => {
  assert.equal(parseConfig(agentConfigSchema, {}, 'test').operations.fieldManager, 'scale-agent');
  assert.equal(parseConfig(agentConfigSchema, { operations: { fieldManager: 'armory-agent' } }, 'test').operations.fieldManager, 'armory-agent');
  for (const bad of ['', ' leading-space', 'x'.repeat(129), 'tab\there']) {
    assert.throws(
      () => parseConfig(agentConfigSchema, { operations: { fieldManager: bad } }, 'agent.yaml'),
      (err: unknown) => isScaleAgentError(err, 'CONFIG_INVALID') && /operations\.fieldManager/.test(err.message),
      JSON.stringify(bad),
    );
  }
});

test('secrets.vault: checked only when enabled; each auth method names what it needs', () => {
  const vault = (values: Record<string, unknown>) => parseConfig(agentConfigSchema, { secrets: { vault: values } }, 'agent.yaml').secrets.vault;
  assert.equal(vault({ authMethod: 'kubernetes' }).enabled, false);
  assert.equal(vault({ enabled: true, url: 'https://vault:8200', authMethod: 'userpass', username: 'u', password: 'p' }).authMethod, 'USERPASS');
  assert.equal(vault({ enabled: true, url: 'https://vault:8200' }).authMethod, 'TOKEN', 'TOKEN by default (token, else VAULT_TOKEN)');
  const problems = (values: Record<string, unknown>) => {
    try {
      parseConfig(agentConfigSchema, { secrets: { vault: values } }, 'agent.yaml');
    } catch (err) {
      if (isScaleAgentError(err, 'CONFIG_INVALID')) return err.details.problems as string[];
    }
    return [];
  };
  assert.deepEqual(problems({ enabled: true, authMethod: 'KUBERNETES' }), [
    'secrets.vault.url: url is required when Vault is enabled',
    'secrets.vault.role: authMethod KUBERNETES needs role (the Vault role to log in as)',
  ]);
  assert.deepEqual(problems({ enabled: true, url: 'https://vault:8200', authMethod: 'USERPASS' }), [
    'secrets.vault.username: authMethod USERPASS needs username',
    'secrets.vault.password: authMethod USERPASS needs password',
  ]);
  assert.deepEqual(problems({ engine: 'kv' }), [
    'secrets.vault.engine: unknown key (known keys here: authMethod, enabled, namespace, password, path, role, token, url, userAuthPath, username)',
  ]);
});

test('permissions name only authorizations Fiat knows: a typo is refused, a prototype key is not carried', () => {
  const account = (permissions: unknown) => accountSchema.safeParse({ name: 'a', kubeconfigFile: '/k/a.yaml', permissions });
  assert.deepEqual(account([{ READ: ['dev'] }, { WRITE: ['ops'] }]).data?.permissions, { READ: ['dev'], WRITE: ['ops'] });
  const typo = account({ READ: ['dev'], DELET: ['ops'] });
  assert.equal(typo.success, false);
  assert.deepEqual(
    typo.error?.issues.map((i) => [i.path.join('.'), i.message]),
    [['permissions.DELET', 'unknown authorization "DELET"; use READ, WRITE, EXECUTE, CREATE']],
  );
  const prototypeKey = account(JSON.parse('{"__proto__": ["x"]}'));
  assert.ok(!prototypeKey.success || Object.keys(prototypeKey.data.permissions).length === 0, JSON.stringify(prototypeKey));
});
