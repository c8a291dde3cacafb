import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isScaleAgentError } from '../common/errors.ts';
import { agentConfigSources, loadAgentConfig } from './config-loader.ts';

const root = mkdtempSync(join(tmpdir(), 'scale-agent-config-loader-'));
after(() => rmSync(root, { recursive: true, force: true }));

let made = 0;
/** A fresh directory holding these files. */
function directory(files: Record<string, string>): string {
  const dir = join(root, String(made++));
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const MAIN = 'kubernetes:\n  accounts:\n    - name: prod\n      serviceAccount: true\nclouddriver:\n  grpc: hub:9091\nlogging:\n  level: INFO\n';
const NO_LEGACY = join(root, 'no-legacy', 'kubesvc.yaml');

test("without --config: armory-agent.yaml in Armory's directory, with armory-agent-local.yaml merged over it", () => {
  const dir = directory({ 'armory-agent.yaml': MAIN, 'armory-agent-local.yaml': 'clouddriver:\n  grpc: local-hub:9091\n' });
  const sources = agentConfigSources({ directory: dir, legacyFile: NO_LEGACY });
  assert.deepEqual(sources.read, [join(dir, 'armory-agent.yaml'), join(dir, 'armory-agent-local.yaml')]);
  assert.deepEqual(sources.watch, sources.read);
  const { config } = loadAgentConfig(sources.read, {}, {});
  assert.equal(config.clouddriver.grpc, 'local-hub:9091', 'the local file wins');
  assert.equal(config.kubernetes.accounts[0]?.name, 'prod', 'the main file still counts');
  assert.equal(config.logging.level, 'info');
});

test('the .yml spelling counts; no local file is normal; with neither file, the legacy kubesvc.yaml, else the defaults', () => {
  const yml = directory({ 'armory-agent.yml': MAIN });
  const sources = agentConfigSources({ directory: yml, legacyFile: NO_LEGACY });
  assert.deepEqual(sources.read, [join(yml, 'armory-agent.yml')]);
  assert.deepEqual(sources.watch, [join(yml, 'armory-agent.yml'), join(yml, 'armory-agent-local.yaml')], 'a local file created later is watched for');

  const legacyDir = directory({ 'kubesvc.yaml': MAIN });
  const empty = directory({});
  assert.deepEqual(agentConfigSources({ directory: empty, legacyFile: join(legacyDir, 'kubesvc.yaml') }).read, [join(legacyDir, 'kubesvc.yaml')]);
  const none = agentConfigSources({ directory: empty, legacyFile: NO_LEGACY });
  assert.deepEqual(none.read, []);
  assert.equal(loadAgentConfig(none.read, {}, {}).config.kubernetes.accounts.length, 0);
});

test('--config names the one file read', () => {
  const dir = directory({ 'armory-agent.yaml': MAIN, 'mine.yaml': 'clouddriver:\n  grpc: mine:9091\n' });
  const sources = agentConfigSources({ explicit: join(dir, 'mine.yaml'), directory: dir });
  assert.deepEqual(sources.read, [join(dir, 'mine.yaml')]);
  assert.equal(loadAgentConfig(sources.read, {}, {}).config.clouddriver.grpc, 'mine:9091');
});

test('flags win over the files; an unreadable file and problems in several files are reported', () => {
  const dir = directory({ 'a.yaml': MAIN, 'bad.yaml': 'kubernetes: [unclosed\n', 'list.yaml': '- a\n- b\n' });
  assert.equal(loadAgentConfig([join(dir, 'a.yaml')], { clouddriver: { grpc: 'flag:9091' } }, {}).config.clouddriver.grpc, 'flag:9091');
  assert.throws(
    () => loadAgentConfig([join(dir, 'missing.yaml')], {}, {}),
    (err: unknown) => isScaleAgentError(err, 'CONFIG_FILE_UNREADABLE') && /missing\.yaml/.test(err.message),
  );
  assert.throws(
    () => loadAgentConfig([join(dir, 'bad.yaml'), join(dir, 'list.yaml')], {}, {}),
    (err: unknown) =>
      isScaleAgentError(err, 'CONFIG_INVALID') &&
      /bad\.yaml: configuration file .*bad\.yaml is not valid YAML/.test(err.message) &&
      /list\.yaml: \(root\): expected a mapping of keys, got a list/.test(err.message),
  );
});

test('a file that is not YAML is reported by position, never by quoting its lines (they may hold a token)', () => {
  const dir = directory({ 'leaky.yaml': 'clouddriver:\n  auth:\n    token: s3cr3t-token-value\n  grpc: [unclosed\n' });
  assert.throws(
    () => loadAgentConfig([join(dir, 'leaky.yaml')], {}, {}),
    (err: unknown) =>
      isScaleAgentError(err, 'CONFIG_INVALID') &&
      /is not valid YAML \([A-Z_]+\) at line \d+, column \d+/.test(err.message) &&
      !JSON.stringify({ message: err.message, details: err.details }).includes('s3cr3t'),
  );
});
