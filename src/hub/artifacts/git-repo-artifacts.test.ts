// git/repo accounts as configured: Clouddriver's keys and what the hub refuses of them (SSH, credentials
// without origins, a password and a token together), the Authorization each way of authenticating
// sends, and the sub-path an artifact names. Fetching itself runs against the real git in
// test/hub/git-repo-artifacts.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { artifactsConfigSchema } from './artifact-config.ts';
import { gitAuthorization, guardedFs, subPathOf } from './git-repo-artifacts.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScaleAgentError } from '../../common/errors.ts';
import { Errors, isScaleAgentError } from '../../common/errors.ts';

const ORIGINS = ['https://git.example.com'];

function problems(account: Record<string, unknown>): string[] {
  const result = artifactsConfigSchema.safeParse({ gitRepo: { accounts: [{ name: 'git', ...account }] } });
  return result.success ? [] : result.error.issues.map((i) => `${i.path.slice(3).join('.')}: ${i.message}`);
}

function basic(text: string): string {
  return `Basic ${Buffer.from(text).toString('base64')}`;
}

test("Clouddriver's gitRepo accounts: username and password, username and token, or a token, each with origins", () => {
  assert.deepEqual(problems({}), [], 'an anonymous account needs no origins');
  assert.deepEqual(problems({ username: 'u', password: 'p', origins: ORIGINS }), []);
  assert.deepEqual(problems({ username: 'u', token: 't', origins: ORIGINS }), []);
  assert.deepEqual(problems({ tokenEnv: 'GIT_TOKEN', origins: ORIGINS }), []);
  const config = artifactsConfigSchema.parse({ gitRepo: { accounts: [{ name: 'git', token: 't', origins: ['https://git.example.com/'] }] } });
  assert.equal(config.gitRepo.enabled, true);
  assert.deepEqual(config.gitRepo.accounts[0]!.origins, ORIGINS);
});

test('what the hub refuses of a gitRepo account, naming the key', () => {
  assert.match(problems({ sshPrivateKeyFilePath: '/keys/id_rsa' }).join('\n'), /^sshPrivateKeyFilePath: SSH is not supported/);
  assert.match(problems({ sshTrustUnknownHosts: true }).join('\n'), /^sshTrustUnknownHosts: SSH/);
  assert.match(problems({ token: 't' }).join('\n'), /^origins: .*credentials must list the origins/);
  assert.match(problems({ username: 'u', password: 'p', token: 't', origins: ORIGINS }).join('\n'), /^token: set a password or a token, not both/);
  assert.match(problems({ username: 'u', origins: ORIGINS }).join('\n'), /^username: username needs a password .* or a token/);
  assert.match(problems({ password: 'p', origins: ORIGINS }).join('\n'), /^password: a password needs a username/);
  assert.match(problems({ usernamePasswordFile: '/f', token: 't', origins: ORIGINS }).join('\n'), /^usernamePasswordFile: /);
  assert.match(problems({ cloneRetentionMinutes: 5 }).join('\n'), /cloneRetentionMinutes/, 'unknown keys are refused');
});

test('each way of authenticating is HTTP basic authentication, as git sends it', () => {
  const env = { GIT_TOKEN: 'from-env' };
  assert.equal(gitAuthorization({ name: 'a', username: 'u', password: 'p' }, 'k', env)?.value(), basic('u:p'));
  assert.equal(gitAuthorization({ name: 'a', username: 'u', token: 't' }, 'k', env)?.value(), basic('u:t'));
  assert.equal(gitAuthorization({ name: 'a', tokenEnv: 'GIT_TOKEN' }, 'k', env)?.value(), basic('token:from-env'), "Clouddriver's token:<token>@host");
  assert.equal(gitAuthorization({ name: 'a' }, 'k', env), undefined);
});

test('the sub-path: location, else metadata.subPath; "..", never', () => {
  const artifact = { type: 'git/repo', artifactAccount: 'git' };
  assert.deepEqual(subPathOf(artifact), []);
  assert.deepEqual(subPathOf({ ...artifact, location: './deploy//base/' }), ['deploy', 'base']);
  assert.deepEqual(subPathOf({ ...artifact, location: '', metadata: { subPath: 'charts/app' } }), ['charts', 'app']);
  assert.deepEqual(subPathOf({ ...artifact, location: 'a', metadata: { subPath: 'b' } }), ['a']);
  assert.deepEqual(subPathOf({ ...artifact, metadata: { subPath: 7 } }), [], 'a subPath that is not a string is ignored');
  try {
    subPathOf({ ...artifact, metadata: { subPath: 'deploy/../../etc' } });
    assert.fail('expected a refusal');
  } catch (err) {
    assert.ok(isScaleAgentError(err, Errors.ARTIFACT_REQUEST_INVALID.code), String(err));
    assert.match(err.message, /^metadata\.subPath: /);
  }
});

test("once the fetch's deadline has passed, the guarded file system writes and reads nothing more (ARTIFACT_FETCH_TIMEOUT)", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'guarded-fs-'));
  try {
    const deadline: { passed?: ScaleAgentError } = {};
    const fs = guardedFs(1024, 'test.limit', () => deadline.passed) as {
      writeFile(file: string, data: Uint8Array | string): Promise<void>;
      readFile(file: string): Promise<Buffer>;
      mkdir(dir: string): Promise<void>;
    };
    await fs.writeFile(join(dir, 'a'), 'before');
    deadline.passed = new ScaleAgentError(Errors.ARTIFACT_FETCH_TIMEOUT, 'too late', {});
    const late = (err: unknown) => isScaleAgentError(err, Errors.ARTIFACT_FETCH_TIMEOUT.code);
    await assert.rejects(fs.writeFile(join(dir, 'b'), 'after'), late);
    await assert.rejects(fs.readFile(join(dir, 'a')), late);
    await assert.rejects(fs.mkdir(join(dir, 'c')), late);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
