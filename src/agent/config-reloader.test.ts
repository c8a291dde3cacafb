// The reloader on real files: what an operator (or an accident) puts where the configuration was — a
// directory, a symlink loop, a file far larger than any configuration — keeps the running accounts and
// is reported, and the next good file is applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_CONFIG_FILE_BYTES } from '../common/config.ts';
import { silentLogger } from '../common/logger.ts';
import { createMetricsRegistry } from '../common/metrics.ts';
import { waitFor } from '../common/time.ts';
import { loadAgentConfig } from './config-loader.ts';
import { ConfigReloader } from './config-reloader.ts';
import type { AgentConfig } from './config.ts';

const POLL_MS = 20;
const WAIT = { timeoutMs: 10_000 };

function accountsYaml(names: string[]): string {
  return `kubernetes:\n  accounts:\n${names.map((n) => `    - name: ${n}\n      kubeconfigFile: /kube/${n}\n`).join('')}`;
}

function setUp() {
  const dir = mkdtempSync(join(tmpdir(), 'config-reloader-'));
  const path = join(dir, 'armory-agent.yaml');
  writeFileSync(path, accountsYaml(['one']));
  const load = () => loadAgentConfig([path]).config;
  const applied: string[][] = [];
  const reloader = new ConfigReloader({
    paths: [path],
    load,
    apply: (config: AgentConfig) => applied.push(config.kubernetes.accounts.map((a) => a.name)),
    current: load(),
    logger: silentLogger(),
    metricsRegistry: createMetricsRegistry(),
    intervalMs: POLL_MS,
  });
  /** Puts `write` in place of the file as a ConfigMap update does: written beside it, then renamed over it. */
  const replace = (write: (at: string) => void) => {
    const next = join(dir, `next-${Date.now()}-${Math.random()}`);
    write(next);
    rmSync(path, { recursive: true, force: true });
    renameSync(next, path);
  };
  return { dir, path, reloader, applied, replace };
}

test('a directory, a symlink loop or an oversized file in place of the configuration is reported; the running one is kept until a good file returns', async () => {
  const { dir, reloader, applied, replace } = setUp();
  reloader.start();
  try {
    const failures = reloader.status.failures;
    const failed = async (what: string, pattern: RegExp) => {
      const before = reloader.status.failures;
      await waitFor(() => reloader.status.failures > before, { ...WAIT, what });
      assert.match(reloader.status.lastError?.message ?? '', pattern);
    };

    replace((at) => mkdirSync(at));
    await failed('the directory to be reported', /cannot read configuration file .*armory-agent\.yaml: EISDIR/);

    replace((at) => {
      symlinkSync(join(dir, 'loop-b'), join(dir, 'loop-a'));
      symlinkSync(join(dir, 'loop-a'), join(dir, 'loop-b'));
      symlinkSync(join(dir, 'loop-a'), at);
    });
    await failed('the symlink loop to be reported', /ELOOP/);

    // Comments only: cheap to write, yet parsed whole it would be (and a file of hundreds of MiB would stall the agent).
    replace((at) => writeFileSync(at, `${accountsYaml(['one', 'two'])}${'#'.repeat(1023)}\n`.repeat(MAX_CONFIG_FILE_BYTES / 1024 + 1)));
    await failed('the oversized file to be reported', new RegExp(`is larger than ${MAX_CONFIG_FILE_BYTES} bytes`));
    assert.ok(reloader.status.failures >= failures + 3);
    assert.deepEqual(applied, [], 'nothing was applied: the running accounts stay');

    replace((at) => writeFileSync(at, accountsYaml(['one', 'two'])));
    await waitFor(() => applied.length > 0, { ...WAIT, what: 'the good file to be applied' });
    assert.deepEqual(applied.at(-1), ['one', 'two']);
    assert.equal(reloader.status.lastError, undefined);
  } finally {
    reloader.stop();
  }
});

test('a symlink to a device (/dev/zero) in place of the configuration is reported at once, neither polled nor loaded whole', async () => {
  const { reloader, replace } = setUp();
  reloader.start();
  try {
    const before = reloader.status.failures;
    replace((at) => symlinkSync('/dev/zero', at));
    await waitFor(() => reloader.status.failures > before, { ...WAIT, what: 'the device to be reported' });
    assert.match(reloader.status.lastError?.message ?? '', new RegExp(`is larger than ${MAX_CONFIG_FILE_BYTES} bytes`));
  } finally {
    reloader.stop();
  }
});
