import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { formatPath, isPlainObject } from '../common/config.ts';
import { isScaleAgentError } from '../common/errors.ts';
import { formatWarning, type ConfigWarning } from './armory-compat.ts';
import { parseAgentConfigText } from './config-loader.ts';
import type { AgentConfig } from './config.ts';

const FIXTURE = new URL('./testing/armory-agent-full.yml', import.meta.url);
/** No LOG_LEVEL: the file's level counts. */
const NO_ENV = {};

/** Every key the fixture sets: objects are followed, lists are values (except the accounts). */
function leafKeys(value: unknown, path: Array<string | number> = []): string[] {
  if (Array.isArray(value) && formatPath(path) === 'kubernetes.accounts') return value.flatMap((item, i) => leafKeys(item, [...path, i]));
  if (isPlainObject(value)) return Object.entries(value).flatMap(([key, child]) => leafKeys(child, [...path, key]));
  return [formatPath(path)];
}

/** The warnings naming the key, or a key above it (a block warned as a whole, such as kubernetes.retries). */
function warningsFor(warnings: ConfigWarning[], key: string): ConfigWarning[] {
  return warnings.filter((w) => w.keys.some((k) => k === key || key.startsWith(`${k}.`) || key.startsWith(`${k}[`)));
}

/** Keys with this agent's meaning: where each ends up, and the value it must have there. */
const IMPLEMENTED: Record<string, [actual: (c: AgentConfig) => unknown, expected: unknown]> = {
  'kubernetes.cacheGroupSize': [(c) => c.kubernetes.cacheGroupSize, 5],
  'kubernetes.cacheGroupDelayMs': [(c) => c.kubernetes.cacheGroupDelayMs, 5000],
  'kubernetes.accounts[0].name': [(c) => c.kubernetes.accounts[0]!.name, 'prod-eu'],
  'kubernetes.accounts[0].kubeConfigFile': [(c) => c.kubernetes.accounts[0]!.kubeconfigFile, '/kubeconfigfiles/prod-eu'],
  'kubernetes.accounts[0].context': [(c) => c.kubernetes.accounts[0]!.context, 'prod-eu'],
  'kubernetes.accounts[0].insecure': [(c) => c.kubernetes.accounts[0]!.insecure, false],
  'kubernetes.accounts[0].namespaces': [(c) => c.kubernetes.accounts[0]!.namespaces, ['team-a', 'team-b']],
  'kubernetes.accounts[0].onlyNamespacedResources': [(c) => c.kubernetes.accounts[0]!.onlyNamespacedResources, true],
  'kubernetes.accounts[0].kinds': [(c) => c.kubernetes.accounts[0]!.kinds, ['deployment', 'replicaSet', 'service', 'pod']],
  'kubernetes.accounts[0].permissions': [(c) => c.kubernetes.accounts[0]!.permissions, { READ: ['dev', 'ops'], WRITE: ['ops'] }],
  'kubernetes.accounts[0].onlySpinnakerManaged': [(c) => c.kubernetes.accounts[0]!.onlySpinnakerManaged, true],
  'kubernetes.accounts[1].name': [(c) => c.kubernetes.accounts[1]!.name, 'in-cluster'],
  'kubernetes.accounts[1].serviceAccount': [(c) => c.kubernetes.accounts[1]!.serviceAccount, true],
  'kubernetes.accounts[1].omitNamespaces': [(c) => c.kubernetes.accounts[1]!.omitNamespaces, ['kube-system']],
  'kubernetes.accounts[1].omitKinds': [(c) => c.kubernetes.accounts[1]!.omitKinds, ['event']],
  // Clouddriver's older form of permissions: read and write for these roles.
  'kubernetes.accounts[1].requiredGroupMembership': [(c) => c.kubernetes.accounts[1]!.permissions, { READ: ['admins'], WRITE: ['admins'] }],
  'clouddriver.grpc': [(c) => c.clouddriver.grpc, 'spin-clouddriver-grpc:9091'],
  'clouddriver.insecure': [(c) => c.clouddriver.insecure, false],
  'clouddriver.tls.serverName': [(c) => c.clouddriver.tls.serverName, 'clouddriver.example.com'],
  'clouddriver.tls.insecureSkipVerify': [(c) => c.clouddriver.tls.insecureSkipVerify, true],
  'clouddriver.tls.cacertFile': [(c) => c.clouddriver.tls.cacertFile, '/etc/ssl/cert.pem'],
  'clouddriver.tls.clientCertFile': [(c) => c.clouddriver.tls.clientCertFile, '/tls/agent.pem'],
  'clouddriver.tls.clientKeyFile': [(c) => c.clouddriver.tls.clientKeyFile, '/tls/agent-key.pem'],
  'clouddriver.tls.clientKeyFilePassword': [(c) => c.clouddriver.tls.clientKeyFilePassword, 'changeit'],
  'clouddriver.auth.tokenCommand.command': [(c) => c.clouddriver.auth.tokenCommand?.command, '/usr/local/bin/token'],
  'clouddriver.auth.tokenCommand.args': [(c) => c.clouddriver.auth.tokenCommand?.args, ['--audience', 'spinnaker']],
  'clouddriver.auth.tokenCommand.format': [(c) => c.clouddriver.auth.tokenCommand?.format, 'json'],
  'clouddriver.auth.tokenCommand.refreshIntervalSeconds': [(c) => c.clouddriver.auth.tokenCommand?.refreshIntervalSeconds, 300],
  'clouddriver.keepAliveHeartbeatSeconds': [(c) => c.clouddriver.keepAliveHeartbeatSeconds, 30],
  'clouddriver.keepAliveTimeOutSeconds': [(c) => c.clouddriver.keepAliveTimeOutSeconds, 90],
  // Go durations: nanoseconds, or Go's syntax.
  'clouddriver.backoff.baseDelay': [(c) => c.clouddriver.backoff.initialMs, 2000],
  'clouddriver.backoff.multiplier': [(c) => c.clouddriver.backoff.multiplier, 1.5],
  'clouddriver.backoff.jitter': [(c) => c.clouddriver.backoff.jitter, 0.1],
  'clouddriver.backoff.maxDelay': [(c) => c.clouddriver.backoff.maxMs, 60_000],
  'clouddriver.noProxy': [(c) => c.clouddriver.noProxy, true],
  'clouddriver.dynamicAccountsEnabled': [(c) => c.dynamicAccountsEnabled, false],
  'tasks.totalBudget': [(c) => c.tasks.totalBudget, 200],
  'tasks.budgetPerAccount': [(c) => c.tasks.budgetPerAccount, 20],
  timeoutSeconds: [(c) => c.kubernetes.requestTimeoutSeconds, 45],
  'server.host': [(c) => c.server.host, '127.0.0.1'],
  'server.port': [(c) => c.server.port, 8082],
  'server.ssl.enabled': [(c) => c.server.ssl.enabled, true],
  'server.ssl.certFile': [(c) => c.server.ssl.certFile, '/tls/admin.pem'],
  'server.ssl.keyFile': [(c) => c.server.ssl.keyFile, '/tls/admin-key.pem'],
  'server.ssl.keyPassword': [(c) => c.server.ssl.keyFilePassword, 'changeit'],
  'server.ssl.caCertFile': [(c) => c.server.ssl.cacertFile, '/tls/admin-ca.pem'],
  'server.ssl.clientAuth': [(c) => c.server.ssl.clientAuth, 'want'],
  'prometheus.enabled': [(c) => c.prometheus.enabled, true],
  'prometheus.port': [(c) => c.prometheus.port, 8008],
  'logging.file': [(c) => c.logging.file, '/var/log/armory-agent.log'],
  'logging.format': [(c) => c.logging.format, 'text'],
  'logging.level': [(c) => c.logging.level, 'warn'],
  'logging.multiWrite': [(c) => c.logging.multiWrite, true],
  'logging.fields.agentCluster': [(c) => c.logging.fields.agentCluster, 'prod'],
  'logging.fields.agentNamespace': [(c) => c.logging.fields.agentNamespace, 'spinnaker'],
  'secrets.vault.enabled': [(c) => c.secrets.vault.enabled, true],
  'secrets.vault.url': [(c) => c.secrets.vault.url, 'https://vault.example.com:8200'],
  'secrets.vault.authMethod': [(c) => c.secrets.vault.authMethod, 'KUBERNETES'],
  'secrets.vault.role': [(c) => c.secrets.vault.role, 'spinnaker'],
  'secrets.vault.path': [(c) => c.secrets.vault.path, 'kubernetes-prod'],
  'secrets.vault.username': [(c) => c.secrets.vault.username, 'agent'],
  'secrets.vault.password': [(c) => c.secrets.vault.password, 'changeit'],
  'secrets.vault.userAuthPath': [(c) => c.secrets.vault.userAuthPath, 'userpass'],
  'secrets.vault.namespace': [(c) => c.secrets.vault.namespace, 'team-a'],
  'secrets.vault.token': [(c) => c.secrets.vault.token, 's.abcdef'],
  zoneId: [(c) => c.zoneId, 'eu-west-1a'],
};

/** Keys with no effect here: each is named by exactly one warning, alone or with its block. */
const WARNED = [
  'kubernetes.noProxy',
  // clouddriver.backoff.baseDelay is set too, and decides.
  'kubernetes.reconnectTimeoutMs',
  'kubernetes.retries.enabled',
  'kubernetes.retries.maxRetries',
  'kubernetes.retries.backOffMs',
  'kubernetes.retries.retryAnyError',
  'kubernetes.retries.retryableErrors',
  'kubernetes.serverSideApply.enabled',
  'kubernetes.serverSideApply.clearManagedFields',
  'kubernetes.serverSideApply.manifestDefaults',
  'kubernetes.serverSideApply.kinds',
  'kubernetes.dynamicAccountsOnly',
  'kubernetes.accounts[0].oAuthScopes',
  'kubernetes.accounts[0].customResourceDefinitions',
  'kubernetes.accounts[0].metrics',
  'kubernetes.accounts[0].maxResumableResourceAgeMs',
  'kubernetes.accounts[0].noProxy',
  'kubernetes.accounts[1].serviceAccountName',
  'kubernetes.accounts[1].cacheThreads',
  'clouddriver.keepAliveOperationSeconds',
  'clouddriver.responseRetries.enabled',
  'clouddriver.responseRetries.maxRetries',
  'clouddriver.responseRetries.backOffMs',
  'clouddriver.cacheRetryIntervalSeconds',
  'tasks.queueCheckFrequencyMs',
  'pprof.enabled',
  'pprof.port',
  'logging.maxSizeMb',
  'logging.maxAgeDays',
  'logging.maxBackups',
  'logging.localTime',
  'logging.compress',
  'logging.remote.enabled',
  'logging.remote.endpoint',
  'logging.remote.customerId',
  'logging.remote.version',
  'balanceConnection',
  'clouddriverNamespace',
  'domainName',
  'local.enabled',
  'local.aggregate',
  'local.port',
  'hub.connection.grpc',
  'hub.connection.keepAliveHeartbeatSeconds',
  'hub.connection.insecure',
  'hub.auth.armory.clientId',
  'hub.auth.armory.secret',
  'hub.auth.armory.tokenIssuerUrl',
  'hub.auth.armory.audience',
  'hub.auth.armory.verify',
  'hub.auth.refreshIntervalSeconds',
  'hub.auth.expirationLeewaySeconds',
];

test('a full Armory agent configuration loads: every key is taken with its meaning, or named by one warning', () => {
  const text = readFileSync(FIXTURE, 'utf8');
  const { config, warnings } = parseAgentConfigText(text, 'armory-agent.yml', {}, NO_ENV);
  const keys = leafKeys(parseYaml(text));

  const unaccounted = keys.filter((key) => !(key in IMPLEMENTED) && !WARNED.includes(key));
  assert.deepEqual(unaccounted, [], 'every key of the fixture has an expected outcome in this test');
  const absent = [...Object.keys(IMPLEMENTED), ...WARNED].filter((key) => !keys.includes(key));
  assert.deepEqual(absent, [], 'every expected outcome is for a key the fixture sets');

  for (const [key, [actual, expected]] of Object.entries(IMPLEMENTED)) {
    assert.deepEqual(actual(config), expected, key);
    assert.deepEqual(warningsFor(warnings, key), [], `${key} is taken, without a warning`);
  }
  for (const key of WARNED) {
    const found = warningsFor(warnings, key);
    assert.equal(found.length, 1, `${key}: exactly one warning (got ${found.map(formatWarning).join(' | ') || 'none'})`);
    assert.ok(found[0]!.message.length > 40, `${key}: the warning says why: ${found[0]!.message}`);
  }
  // Keys warned for the same reason share one warning (the five rotation keys, the proxy switches).
  const rotation = warningsFor(warnings, 'logging.maxSizeMb')[0]!;
  assert.deepEqual(rotation.keys, ['logging.maxSizeMb', 'logging.maxAgeDays', 'logging.maxBackups', 'logging.localTime', 'logging.compress']);
  assert.match(
    formatWarning(rotation),
    /^logging\.maxSizeMb, logging\.maxAgeDays, logging\.maxBackups, logging\.localTime and 1 more: .*logrotate.*copytruncate/,
  );
  assert.deepEqual(warningsFor(warnings, 'kubernetes.noProxy')[0]!.keys, ['kubernetes.noProxy', 'kubernetes.accounts[0].noProxy']);
});

function problemsOf(text: string, env: NodeJS.ProcessEnv = NO_ENV): string[] {
  try {
    parseAgentConfigText(text, 'armory-agent.yml', {}, env);
  } catch (err) {
    if (isScaleAgentError(err, 'CONFIG_INVALID')) return err.details.problems as string[];
    throw err;
  }
  assert.fail('the configuration was accepted');
}

test('an unknown key anywhere stops the start with its path and the nearest known key', () => {
  assert.deepEqual(problemsOf('kubernetes:\n  accounts:\n    - name: a\n      serviceAccount: true\n      namespace: [team-a]\n'), [
    'kubernetes.accounts[0].namespace: unknown key; did you mean "namespaces"?',
  ]);
  assert.deepEqual(problemsOf('clouddrivr:\n  grpc: hub:9091\n'), ['clouddrivr: unknown key; did you mean "clouddriver"?']);
  // Armory spellings count as known: a typo of one is pointed at it.
  assert.deepEqual(problemsOf('kubernetes:\n  reconectTimeoutMs: 5000\n'), ['kubernetes.reconectTimeoutMs: unknown key; did you mean "reconnectTimeoutMs"?']);
  // Case alone: the key as this agent spells it.
  assert.deepEqual(problemsOf('clouddriver:\n  tls:\n    caCertFile: /ca.pem\n'), ['clouddriver.tls.caCertFile: unknown key; did you mean "cacertFile"?']);
  // Nothing near: the keys known there.
  assert.match(problemsOf('prometheus:\n  scrape: true\n')[0]!, /^prometheus\.scrape: unknown key \(known keys here: enabled, port\)$/);
});

test("log levels in any case and by Armory's names; LOG_LEVEL wins over the file", () => {
  const level = (text: string, env: NodeJS.ProcessEnv = NO_ENV) => parseAgentConfigText(text, 'a.yml', {}, env).config.logging.level;
  assert.equal(level('logging:\n  level: INFO\n'), 'info');
  assert.equal(level('logging:\n  level: Warning\n'), 'warn');
  assert.equal(level('logging:\n  level: PANIC\n'), 'fatal');
  assert.equal(level(''), 'info');
  assert.equal(level('logging:\n  level: INFO\n', { LOG_LEVEL: 'DEBUG' }), 'debug');
  assert.equal(level('', { LOG_LEVEL: 'trace' }), 'trace');
  assert.equal(level('logging:\n  level: error\n', { LOG_LEVEL: '' }), 'error');
  assert.deepEqual(problemsOf('logging:\n  level: loud\n'), [
    'logging.level: unknown log level "loud"; one of trace, debug, info, warn, warning, error, fatal, panic, silent (any case)',
  ]);
  assert.deepEqual(problemsOf('', { LOG_LEVEL: 'verbose' }), [
    'LOG_LEVEL: unknown log level "verbose"; one of trace, debug, info, warn, warning, error, fatal, panic, silent (any case)',
  ]);
});

test('Armory values this agent reads differently are converted or explained', () => {
  const load = (text: string) => parseAgentConfigText(text, 'a.yml', {}, NO_ENV);
  // Alone, the reconnect delay of old Armory agents is the first reconnect delay.
  assert.equal(load('kubernetes:\n  reconnectTimeoutMs: 7000\n').config.clouddriver.backoff.initialMs, 7000);
  assert.equal(load('clouddriver:\n  backoff:\n    baseDelay: 1.5s\n    maxDelay: 2m\n').config.clouddriver.backoff.initialMs, 1500);
  assert.equal(load('clouddriver:\n  backoff:\n    maxDelay: 1m30s\n').config.clouddriver.backoff.maxMs, 90_000);
  // Armory's "off" values this agent does not offer: the default, and a warning saying so.
  for (const [text, key] of [
    ['clouddriver:\n  keepAliveHeartbeatSeconds: 0\n', 'clouddriver.keepAliveHeartbeatSeconds'],
    ['timeoutSeconds: 0\n', 'timeoutSeconds'],
    ['tasks:\n  totalBudget: 0\n', 'tasks.totalBudget'],
  ] as const) {
    const { config, warnings } = load(text);
    assert.equal(warningsFor(warnings, key).length, 1, key);
    assert.equal(config.clouddriver.keepAliveHeartbeatSeconds, 20);
    assert.equal(config.kubernetes.requestTimeoutSeconds, 30);
    assert.equal(config.tasks.totalBudget, 50);
  }
  assert.equal(load('clouddriver:\n  auth:\n    token: abc\n').config.clouddriver.auth.token, 'abc');
  assert.equal(load('kubernetes:\n  accounts:\n    - name: a\n      kubeconfigFile: /k\n').config.kubernetes.accounts[0]!.kubeconfigFile, '/k');
  // Defaults an Armory file leaves unset.
  const defaults = load('').config;
  assert.equal(defaults.zoneId, '');
  assert.equal(defaults.dynamicAccountsEnabled, true);
  assert.equal(defaults.clouddriver.insecure, false, 'TLS by default (the Armory agent: plaintext)');
  assert.deepEqual(defaults.secrets.vault, { enabled: false, authMethod: 'TOKEN', path: 'kubernetes', userAuthPath: 'userpass' });
  assert.deepEqual(defaults.prometheus, { enabled: false, port: 8008 });
  assert.deepEqual(defaults.logging, { level: 'info', format: 'json', multiWrite: false, fields: {} });
});

test('every problem of a configuration is reported at once', () => {
  const problems = problemsOf(
    [
      'kubernetes:',
      '  accounts:',
      '    - name: a',
      '      kubeConfigFile: /one',
      '      kubeconfigFile: /two',
      'clouddriver:',
      '  backoff:',
      '    baseDelay: soon',
      'secrets:',
      '  vault:',
      '    enabled: true',
      '    authMethod: ldap',
      'logging:',
      '  level: loud',
      '',
    ].join('\n'),
  );
  assert.deepEqual(problems.sort(), [
    'clouddriver.backoff.baseDelay: expected a positive Go duration (nanoseconds, or e.g. "1s", "500ms"), got "soon"',
    'kubernetes.accounts[0].kubeConfigFile: the same setting as kubernetes.accounts[0].kubeconfigFile, which is set too (to another value); keep one',
    'logging.level: unknown log level "loud"; one of trace, debug, info, warn, warning, error, fatal, panic, silent (any case)',
    'secrets.vault.authMethod: unknown Vault auth method "ldap"; one of TOKEN, KUBERNETES, USERPASS (any case)',
  ]);
});
