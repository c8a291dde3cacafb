// git/repo artifacts against the real git: a repository built with the system `git` (two branches, a
// sub-directory, an executable, a symbolic link, an annotated tag, and branches made to break the size
// limits) served by `git http-backend` as CGI on loopback, behind basic authentication. Each archive is
// compared with what `git archive` writes for the same version and sub-path, and extracted with the
// system `tar`. Then the refusals: a missing ref or sub-path (404), loopback under the default network
// rules, the size limits, credentials outside the account's origins, and the temporary clone is gone
// after every fetch, failed or not.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Errors } from '../../src/common/errors.ts';
import { artifactsConfigSchema } from '../../src/hub/artifacts/artifact-config.ts';
import { ArtifactService } from '../../src/hub/artifacts/artifact-service.ts';
import { GIT_MAX_QUEUED_FETCHES, GIT_MAX_CONCURRENT_FETCHES, GIT_MAX_REFS } from '../../src/hub/artifacts/git-repo-artifacts.ts';
import { GIT_MAX_PACK_OBJECTS } from '../../src/hub/artifacts/git-pack-limits.ts';
import { startGitHttpServer, type GitHttpServer } from '../support/git-http-server.ts';
import { refusal } from '../../src/hub/artifacts/testing/refusal.ts';

const USER = 'deployer';
const PASSWORD = 'git-password';
const AUTHORIZATION = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
const SMALL_MAX_BYTES = 64 * 1024;
const INCOMPRESSIBLE_BYTES = 256 * 1024;
const ZEROS_BYTES = 2 * 1024 * 1024;
/** Each request of the slow server is within the deadline, the two of a fetch together are not. */
const SLOW_DELAY_MS = 400;
const SLOW_TIMEOUT_MS = 600;
/** Long enough that the git fetches queue behind one another, short enough to keep the test quick. */
const QUEUE_DELAY_MS = 50;
const GIT_ENV = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_AUTHOR_DATE: '2024-01-02T03:04:05Z',
  GIT_COMMITTER_DATE: '2024-01-02T03:04:05Z',
  // No background `gc --auto` (a commit of thousands of objects starts one) racing the removal of the work trees.
  GIT_CONFIG_COUNT: '1',
  GIT_CONFIG_KEY_0: 'gc.auto',
  GIT_CONFIG_VALUE_0: '0',
};

let work = '';
let root = '';
let clones = '';
let savedTmpdir: string | undefined;
let firstCommit = '';
let repo: GitHttpServer;
/** The same repositories without authentication: another origin. */
let other: GitHttpServer;
/** Redirects its GETs to `other`, serves its POSTs itself (with authentication). */
let redirecting: GitHttpServer;
let slow: GitHttpServer;
let service: ArtifactService;
let small: ArtifactService;
let strict: ArtifactService;

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8' }).trim();
}

function write(path: string, text: string | Buffer): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'git-repo-work-'));
  root = mkdtempSync(join(tmpdir(), 'git-repo-root-'));
  // isomorphic-git's temporary clones go under os.tmpdir(): a directory of this test's own, to see them removed.
  clones = mkdtempSync(join(tmpdir(), 'git-repo-clones-'));
  savedTmpdir = process.env.TMPDIR;
  process.env.TMPDIR = clones;

  git(work, 'init', '-q', '-b', 'master');
  write(join(work, 'README.md'), '# app\n');
  write(join(work, 'deploy/base/kustomization.yaml'), 'resources:\n  - configmap.yaml\n');
  write(join(work, 'deploy/base/configmap.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  stage: main\n');
  write(join(work, 'scripts/render.sh'), '#!/bin/sh\nkustomize build deploy/base\n');
  chmodSync(join(work, 'scripts/render.sh'), 0o755);
  symlinkSync('deploy/base/kustomization.yaml', join(work, 'kustomization.yaml'));
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'first');
  firstCommit = git(work, 'rev-parse', 'HEAD');
  write(join(work, 'README.md'), '# app\n\nSecond commit.\n');
  git(work, 'commit', '-q', '-am', 'second');

  git(work, 'checkout', '-q', '-b', 'release');
  write(join(work, 'deploy/base/configmap.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  stage: release\n');
  write(join(work, 'deploy/overlays/prod/kustomization.yaml'), 'resources:\n  - ../../base\n');
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'release');
  git(work, 'tag', '-a', 'v1.0.0', '-m', 'v1.0.0');

  // Beyond SMALL_MAX_BYTES as sent (random bytes do not compress), and far beyond it unpacked (zeros do).
  git(work, 'checkout', '-q', '-b', 'incompressible', 'master');
  write(join(work, 'blob.bin'), randomBytes(INCOMPRESSIBLE_BYTES));
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'incompressible');
  git(work, 'checkout', '-q', '-b', 'zeros', 'master');
  write(join(work, 'zeros.bin'), Buffer.alloc(ZEROS_BYTES));
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'zeros');
  // git's tree order (`deploy-x.yaml`, `deploy.yaml`, `deploy/`) and export-ignore, in the root and a sub-directory.
  git(work, 'checkout', '-q', '-b', 'layout', 'master');
  write(join(work, 'deploy-x.yaml'), 'x\n');
  write(join(work, 'deploy.yaml'), 'y\n');
  write(join(work, '.gitattributes'), '# comment\nsecret.txt export-ignore\n*.tmp export-ignore\n');
  write(join(work, 'secret.txt'), 'not exported\n');
  write(join(work, 'deploy/base/cache.tmp'), 'not exported\n');
  write(join(work, 'deploy/base/.gitattributes'), 'kept.tmp -export-ignore\nlocal/** export-ignore\n');
  write(join(work, 'deploy/base/kept.tmp'), 'exported again\n');
  write(join(work, 'deploy/base/local/x.yaml'), 'not exported\n');
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'layout');
  // A name that is a tag (of master) and a branch (layout): git clone --branch takes the branch.
  git(work, 'tag', 'both', 'master');
  git(work, 'branch', 'both', 'layout');
  git(work, 'checkout', '-q', 'master');
  git(root, 'clone', '-q', '--bare', work, 'app.git');
  // A repository whose one commit holds more objects than a pack may, each tiny.
  const many = mkdtempSync(join(tmpdir(), 'git-repo-many-'));
  git(many, 'init', '-q', '-b', 'master');
  for (let i = 0; i <= GIT_MAX_PACK_OBJECTS; i++) writeFileSync(join(many, `f${i}`), `${i}\n`);
  git(many, 'add', '-A');
  git(many, 'commit', '-q', '-m', 'many');
  git(root, 'clone', '-q', '--bare', '--no-local', many, 'many.git');
  rmSync(many, { recursive: true, force: true });
  // A repository advertising more refs than are read.
  git(root, 'clone', '-q', '--bare', work, 'tags.git');
  const tagged = git(join(root, 'tags.git'), 'rev-parse', 'master');
  execFileSync('git', ['update-ref', '--stdin'], {
    cwd: join(root, 'tags.git'),
    input: Array.from({ length: GIT_MAX_REFS }, (_, i) => `create refs/tags/t${i} ${tagged}\n`).join(''),
  });
  git(join(root, 'tags.git'), 'pack-refs', '--all');
  // The default branch is another: an artifact without a version is master's, as in Clouddriver, not HEAD's.
  git(join(root, 'app.git'), 'symbolic-ref', 'HEAD', 'refs/heads/release');

  repo = await startGitHttpServer({ root, authorization: AUTHORIZATION });
  other = await startGitHttpServer({ root });
  redirecting = await startGitHttpServer({
    root,
    authorization: AUTHORIZATION,
    intercept: (req: IncomingMessage, res: ServerResponse) => {
      if (req.method !== 'GET') return false;
      res.writeHead(302, { location: `${other.url}${req.url ?? '/'}` }).end();
      return true;
    },
  });
  slow = await startGitHttpServer({ root, delayMs: SLOW_DELAY_MS });
  const accounts = [{ name: 'private', username: USER, password: PASSWORD, origins: [repo.url, redirecting.url] }, { name: 'public' }];
  service = new ArtifactService(artifactsConfigSchema.parse({ network: { allow: ['127.0.0.1'] }, gitRepo: { accounts } }));
  small = new ArtifactService(artifactsConfigSchema.parse({ maxBytes: SMALL_MAX_BYTES, network: { allow: ['127.0.0.1'] }, gitRepo: { accounts } }));
  // The default network rules: loopback is refused.
  strict = new ArtifactService(artifactsConfigSchema.parse({ gitRepo: { accounts: [{ name: 'public' }] } }));
});

after(async () => {
  if (savedTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmpdir;
  await Promise.all([repo?.close(), other?.close(), redirecting?.close(), slow?.close()]);
  for (const dir of [work, root, clones]) if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

function fetchRepo(account: string, version: string | undefined, extra: Record<string, unknown> = {}, on = service, url = `${repo.url}/app.git`) {
  return on.fetch({ type: 'git/repo', artifactAccount: account, reference: url, ...(version === undefined ? {} : { version }), ...extra });
}

/** What `git archive` writes (uncompressed) for the version and paths, from the served repository. */
function gitArchive(version: string, ...paths: string[]): Buffer {
  return execFileSync('git', ['archive', '--format=tar', version, ...paths], { cwd: join(root, 'app.git'), env: GIT_ENV });
}

/** The archive's files and links, extracted with the system tar: path → content (or `-> target`). */
function extract(archive: Buffer): Map<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'git-repo-extract-'));
  try {
    execFileSync('tar', ['-xzf', '-', '-C', dir], { input: archive });
    const files = new Map<string, string>();
    const walk = (at: string, prefix: string) => {
      for (const entry of readdirSync(at, { withFileTypes: true })) {
        const path = `${prefix}${entry.name}`;
        if (entry.isDirectory()) walk(join(at, entry.name), `${path}/`);
        else if (entry.isSymbolicLink()) files.set(path, `-> ${execFileSync('readlink', [join(at, entry.name)], { encoding: 'utf8' }).trim()}`);
        else files.set(path, readFileSync(join(at, entry.name), 'utf8'));
      }
    };
    walk(dir, '');
    return files;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function assertNoClonesLeft(): void {
  assert.deepEqual(readdirSync(clones), [], 'every temporary clone is removed');
}

test('a branch is the tar.gz git archive writes of it, every request authenticated', async () => {
  for (const branch of ['master', 'release']) {
    const archive = await fetchRepo('private', branch);
    assert.ok(gunzipSync(archive).equals(gitArchive(branch)), `${branch}: the same tar as git archive`);
  }
  const release = extract(await fetchRepo('private', 'release'));
  assert.match(release.get('deploy/base/configmap.yaml') ?? '', /stage: release/);
  assert.equal(release.get('deploy/overlays/prod/kustomization.yaml'), 'resources:\n  - ../../base\n');
  assert.equal(release.get('kustomization.yaml'), '-> deploy/base/kustomization.yaml');
  const unversioned = await fetchRepo('private', undefined);
  assert.ok(gunzipSync(unversioned).equals(gitArchive('master')), 'no version: master (not the default branch)');
  assert.match(extract(unversioned).get('deploy/base/configmap.yaml') ?? '', /stage: main/);
  assert.ok(repo.requests.length > 0 && repo.requests.every((r) => r.authorization === AUTHORIZATION));
  assertNoClonesLeft();
});

test('a sub-path (location, else metadata.subPath) limits the archive to it, as git archive <ref> <path>', async () => {
  const byLocation = await fetchRepo('private', 'release', { location: 'deploy/overlays' });
  assert.ok(gunzipSync(byLocation).equals(gitArchive('release', 'deploy/overlays')));
  assert.deepEqual([...extract(byLocation).keys()], ['deploy/overlays/prod/kustomization.yaml']);
  const byMetadata = await fetchRepo('private', 'v1.0.0', { metadata: { subPath: 'deploy/base/configmap.yaml' } });
  assert.ok(gunzipSync(byMetadata).equals(gitArchive('v1.0.0', 'deploy/base/configmap.yaml')), 'an annotated tag, one file');
  const byCommit = await fetchRepo('public', firstCommit.slice(0, 7), { location: 'README.md' }, service, `${other.url}/app.git`);
  assert.equal(extract(byCommit).get('README.md'), '# app\n', 'an abbreviated commit id that is no branch tip');
  assertNoClonesLeft();
});

test('a missing ref or sub-path is 404 ARTIFACT_NOT_FOUND; a missing repository is the server’s 404, passed on as 502', async () => {
  assert.equal(Errors.ARTIFACT_NOT_FOUND.httpStatus, 404);
  assert.match(await refusal(fetchRepo('private', 'no-such-branch'), Errors.ARTIFACT_NOT_FOUND.code), /no-such-branch is not a branch or tag/);
  assert.match(await refusal(fetchRepo('private', 'master', { location: 'deploy/overlays' }), Errors.ARTIFACT_NOT_FOUND.code), /has no deploy\/overlays/);
  await refusal(fetchRepo('private', 'abcdef0'), Errors.ARTIFACT_NOT_FOUND.code);
  await refusal(fetchRepo('private', 'master', { location: '../etc' }), Errors.ARTIFACT_REQUEST_INVALID.code);
  await refusal(fetchRepo('private', 'refs/heads/../../../etc'), Errors.ARTIFACT_REQUEST_INVALID.code);
  assert.match(await refusal(fetchRepo('private', 'master', {}, service, `${repo.url}/missing.git`), Errors.ARTIFACT_FETCH_FAILED.code), /answered 404/);
  assertNoClonesLeft();
});

test('the default network rules refuse loopback before anything is sent', async () => {
  const before = other.requests.length;
  assert.match(await refusal(fetchRepo('public', 'master', {}, strict, `${other.url}/app.git`), Errors.ARTIFACT_ADDRESS_REFUSED.code), /127\.0\.0\.1/);
  assert.equal(other.requests.length, before);
  assertNoClonesLeft();
});

test('what is sent and what it unpacks to are bounded', async () => {
  assert.ok((await fetchRepo('private', 'master', {}, small)).length > 0, 'a small branch fits');
  assert.match(await refusal(fetchRepo('private', 'incompressible', {}, small), Errors.ARTIFACT_TOO_LARGE.code), /artifacts\.maxBytes/);
  assert.match(await refusal(fetchRepo('private', 'zeros', {}, small), Errors.ARTIFACT_TOO_LARGE.code), /unpacked/);
  assertNoClonesLeft();
});

test('the whole fetch, all its requests, is within artifacts.timeoutMs', async () => {
  const hurried = new ArtifactService(
    artifactsConfigSchema.parse({ timeoutMs: SLOW_TIMEOUT_MS, network: { allow: ['127.0.0.1'] }, gitRepo: { accounts: [{ name: 'public' }] } }),
  );
  await refusal(fetchRepo('public', 'master', {}, hurried, `${slow.url}/app.git`), Errors.ARTIFACT_FETCH_TIMEOUT.code);
  assert.deepEqual(
    slow.requests.map((r) => r.method),
    ['GET', 'POST'],
    'the discovery answered within its own deadline; the fetch after it ran out of the whole one',
  );
  assertNoClonesLeft();
});

test("credentials go only to the account's origins, never across a redirect", async () => {
  const before = other.requests.length;
  assert.match(await refusal(fetchRepo('private', 'master', {}, service, `${other.url}/app.git`), Errors.ARTIFACT_ORIGIN_REFUSED.code), /origins/);
  assert.equal(other.requests.length, before, 'nothing is sent to an origin the account does not list');

  // The discovery is redirected to another origin, which gets it without the credentials; the fetch itself goes to the account's origin.
  const archive = await fetchRepo('private', 'master', {}, service, `${redirecting.url}/app.git`);
  assert.ok(gunzipSync(archive).equals(gitArchive('master')));
  const redirected = other.requests.slice(before);
  assert.ok(redirected.length > 0 && redirected.every((r) => r.authorization === undefined), JSON.stringify(redirected));
  assert.ok(redirecting.requests.every((r) => r.authorization === AUTHORIZATION));
  assertNoClonesLeft();
});

test('GET /artifacts/credentials lists the accounts with Clouddriver’s git/repo type', () => {
  const listed = service.credentials().filter((a) => a.types.includes('git/repo'));
  assert.deepEqual(
    listed.map((a) => a.name),
    ['private', 'public'],
  );
  assert.ok(listed.every((a) => a.type === 'git/repo' && a.types.length === 1));
});

test("entries in git's tree order, export-ignore honoured: the same tar as git archive", async () => {
  for (const location of [undefined, 'deploy/base']) {
    const archive = await fetchRepo('private', 'layout', location === undefined ? {} : { location });
    assert.ok(gunzipSync(archive).equals(gitArchive('layout', ...(location === undefined ? [] : [location]))), `layout ${location ?? ''}`);
  }
  const files = [...extract(await fetchRepo('private', 'layout')).keys()];
  assert.ok(!files.includes('secret.txt') && !files.includes('deploy/base/cache.tmp') && !files.includes('deploy/base/local/x.yaml'), files.join(' '));
  assert.ok(files.includes('deploy/base/kept.tmp'), files.join(' '));
  assertNoClonesLeft();
});

test('a name that is both a branch and a tag is the branch, as git clone --branch takes it', async () => {
  assert.ok(gunzipSync(await fetchRepo('private', 'both')).equals(gitArchive('refs/heads/both')));
  assertNoClonesLeft();
});

test('a full commit id the server does not have is 404 ARTIFACT_NOT_FOUND', async () => {
  assert.match(await refusal(fetchRepo('private', 'f'.repeat(40)), Errors.ARTIFACT_NOT_FOUND.code), /is not a branch, tag or commit/);
  assertNoClonesLeft();
});

test('a pack of more objects than GIT_MAX_PACK_OBJECTS, or more refs than GIT_MAX_REFS, is refused before it is indexed or written', async () => {
  assert.match(await refusal(fetchRepo('private', 'master', {}, service, `${repo.url}/many.git`), Errors.ARTIFACT_TOO_LARGE.code), /objects/);
  assert.match(
    await refusal(fetchRepo('private', firstCommit.slice(0, 8), {}, service, `${repo.url}/tags.git`), Errors.ARTIFACT_TOO_LARGE.code),
    /more than 10000 refs/,
  );
  assertNoClonesLeft();
});

test('git fetches have slots of their own: a few at once, a short queue, then 503 ARTIFACT_FETCH_BUSY', async () => {
  const slowed = await startGitHttpServer({ root, delayMs: QUEUE_DELAY_MS });
  try {
    // One HTTP slot: a git fetch must not wait for the slots its own requests take.
    const narrow = new ArtifactService(
      artifactsConfigSchema.parse({ maxConcurrentFetches: 1, network: { allow: ['127.0.0.1'] }, gitRepo: { accounts: [{ name: 'public' }] } }),
    );
    const running = GIT_MAX_CONCURRENT_FETCHES + GIT_MAX_QUEUED_FETCHES;
    const fetches = Array.from({ length: running + 1 }, () => fetchRepo('public', 'master', {}, narrow, `${slowed.url}/app.git`));
    assert.match(await refusal(fetches.pop()!, Errors.ARTIFACT_FETCH_BUSY.code), /git repository fetches/);
    for (const archive of await Promise.all(fetches)) assert.ok(gunzipSync(archive).equals(gitArchive('master')));
  } finally {
    await slowed.close();
  }
  assertNoClonesLeft();
});
