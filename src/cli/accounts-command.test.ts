// `scale-agent accounts` against a real hub: apply creates then updates (or leaves unchanged), list and
// get show the status, import plans with --dry-run and applies without, delete withdraws; the hub's
// refusals come back with their codes, and the bearer token reaches the hub's REST authorization.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../common/config.ts';
import { Errors, ScaleAgentError } from '../common/errors.ts';
import { silentLogger } from '../common/logger.ts';
import { hubConfigSchema } from '../hub/config.ts';
import { startHub, type RunningHub } from '../hub/hub.ts';
import { registerAccountsCommand } from './accounts-command.ts';

const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
const DEV_TOKEN = 'dev-token-0123456789abcdef01';

describe('scale-agent accounts', () => {
  let hub: RunningHub;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'scale-agent-accounts-'));
    const config = parseConfig(
      hubConfigSchema,
      {
        server: { host: '127.0.0.1', port: 0 },
        grpc: { host: '127.0.0.1', port: 0, insecure: true, allowAnyIdentity: true },
        database: { url: 'sqlite::memory:' },
        auth: {
          enabled: true,
          adminRoles: ['admins'],
          tokens: [
            { token: ADMIN_TOKEN, user: 'root', roles: ['admins'] },
            { token: DEV_TOKEN, user: 'dev', roles: ['dev'] },
          ],
        },
      },
      'test',
    );
    hub = await startHub(config, silentLogger());
  });

  after(async () => {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs one command line; what it printed. */
  let exitCode: number | undefined;

  async function run(args: string[], token = ADMIN_TOKEN): Promise<string> {
    let printed = '';
    exitCode = undefined;
    const program = new Command('scale-agent').exitOverride();
    registerAccountsCommand(program, { out: (text) => (printed += text), exitCode: (code) => (exitCode = code) });
    await program.parseAsync(['accounts', ...args, '--hub', hub.restUrl, '--token', token], { from: 'user' });
    return printed;
  }

  function file(name: string, text: string): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  }

  test('apply creates, then leaves unchanged or updates; list and get show the accounts with their status', async () => {
    const defs = file('defs.yaml', 'name: eu\nzoneId: eu-1\nserviceAccount: true\n---\n- name: us\n  kubeconfigFile: /kube/us\n');
    assert.equal(await run(['apply', '-f', defs]), 'account eu created\naccount us created\n');
    assert.equal(await run(['apply', '-f', defs]), 'account eu unchanged\naccount us unchanged\n');
    const changed = file('changed.yaml', 'name: us\nkubeconfigFile: /kube/us\nnamespaces: [web]\n');
    assert.equal(await run(['apply', '-f', changed]), 'account us updated (revision 2)\n');

    const listed = (await run(['list'])).split('\n');
    assert.match(listed[0]!, /^NAME\s+SOURCE\s+STATUS\s+ZONE\s+AGENT\s+REASON$/);
    assert.match(listed[1]!, /^eu\s+dynamic\s+ACTIVATING\s+eu-1\s+-/);
    assert.match(listed[2]!, /^us\s+dynamic\s+ACTIVATING\s+-\s+-/);
    const got = parseYaml(await run(['get', 'us']));
    assert.deepEqual([got.name, got.revision, got.definition.namespaces, got.createdBy], ['us', 2, ['web'], 'user:root']);
    assert.equal(JSON.parse(await run(['list', '-o', 'json'])).length, 2);
  });

  test('import: --dry-run shows the plan and writes nothing; without it the accounts are created', async () => {
    const clouddriver = file(
      'clouddriver.yml',
      'kubernetes:\n  accounts:\n    - name: imported\n      kubeconfigFile: /kube/imported\n      cacheThreads: 2\n    - name: clear\n      kubeconfigContents: "apiVersion: v1"\n',
    );
    const planned = await run(['import', '-f', clouddriver, '--dry-run']);
    assert.match(planned, /^create\s+imported\s+kubernetes\.accounts\[0\]\s+\(ignored: cacheThreads\)$/m);
    assert.match(planned, /^refused\s+clear\s+kubernetes\.accounts\[1\]\s+account clear: kubeconfigContents holds a kubeconfig in the clear/m);
    assert.match(planned, /dry run: would create 1, update 0, leave 0 unchanged; 1 refused/);
    assert.equal(await hub.store.getDefinition('imported'), undefined);

    const report = JSON.parse(await run(['import', '-f', clouddriver, '--zone', 'eu-1', '-o', 'json']));
    assert.deepEqual(report.summary, { create: 1, update: 0, unchanged: 0, refused: 1 });
    assert.equal(exitCode, 1, 'a refused account makes the command fail');
    assert.equal((await hub.store.getDefinition('imported'))?.zoneId, 'eu-1');
  });

  test("delete withdraws the definition; the hub's refusals come back with their code; a non-admin token is refused", async () => {
    file('gone.yaml', 'name: gone\nserviceAccount: true\n');
    await run(['apply', '-f', join(dir, 'gone.yaml')]);
    assert.equal(await run(['delete', 'gone']), 'account gone deleted\n');
    await assert.rejects(run(['get', 'gone']), (err: unknown) => err instanceof ScaleAgentError && err.code === Errors.ACCOUNT_NOT_FOUND.code);
    await assert.rejects(
      run(['apply', '-f', file('bad.yaml', 'name: bad\nkubeconfigFile: /k\nnamespace: [web]\n')]),
      (err: unknown) => err instanceof ScaleAgentError && err.code === Errors.ACCOUNT_DEFINITION_INVALID.code && /did you mean "namespaces"/.test(err.message),
    );
    await assert.rejects(run(['list'], DEV_TOKEN), (err: unknown) => err instanceof ScaleAgentError && err.code === Errors.ACCESS_DENIED.code);
    await assert.rejects(
      (async () => {
        const program = new Command('scale-agent').exitOverride();
        registerAccountsCommand(program, { out: () => undefined, exitCode: () => undefined });
        await program.parseAsync(['accounts', 'list', '--hub', 'http://127.0.0.1:1'], { from: 'user' });
      })(),
      (err: unknown) => err instanceof ScaleAgentError && err.code === Errors.HUB_UNREACHABLE.code,
    );
  });
});
