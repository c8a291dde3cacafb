// Each artifact type fetched from real servers on loopback that answer at GitHub's, GitLab's and
// Bitbucket's documented content API paths and check their authentication headers the way those
// services do, and an http/file behind basic authentication; then the accounts list, the built-in
// embedded and custom accounts, and the refusals (unknown account, unsupported type, bad body).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Errors } from '../../common/errors.ts';
import { artifactsConfigSchema } from './artifact-config.ts';
import { ArtifactService } from './artifact-service.ts';
import { refusal } from './testing/refusal.ts';

const MANIFEST = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-scm\n';
const GITHUB_TOKEN = 'ghp_first';
const GITLAB_TOKEN = 'glpat-secret';
const BITBUCKET_TOKEN = 'bb-access-token';
const BASIC = { user: 'deployer', password: 'hunter2' };

interface Seen {
  server: string;
  url: string;
  headers: IncomingMessage['headers'];
}
const seen: Seen[] = [];
const servers: Server[] = [];
let api = '';
let raw = '';
let dir = '';
let service: ArtifactService;

function listen(name: string, handler: (req: IncomingMessage, url: URL) => { status: number; body: string; type?: string }): Promise<string> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push({ server: name, url: req.url ?? '', headers: req.headers });
    const { status, body, type } = handler(req, url);
    res.writeHead(status, { 'content-type': type ?? 'text/plain' }).end(body);
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

const unauthorized = { status: 401, body: '{"message":"Bad credentials"}', type: 'application/json' };
const notFound = { status: 404, body: '{"message":"Not Found"}', type: 'application/json' };

/** The content API of GitHub, GitLab and Bitbucket on one origin, as each documents its paths and headers. */
function scm(req: IncomingMessage, url: URL): { status: number; body: string; type?: string } {
  const github = /^\/repos\/([^/]+)\/([^/]+)\/contents\/(.+)$/.exec(url.pathname);
  if (github) {
    if (req.headers.authorization !== `token ${GITHUB_TOKEN}`) return unauthorized;
    const [, owner, repo, path] = github;
    const ref = url.searchParams.get('ref');
    if (path !== 'deploy/app.yaml' || (ref !== 'main' && ref !== 'master')) return notFound;
    if (req.headers.accept === 'application/vnd.github.v3.raw') return { status: 200, body: `${MANIFEST}# ${ref} raw\n` };
    const download =
      url.searchParams.get('where') === 'same' ? `${api}/raw/${owner}/${repo}/${ref}/${path}` : `${raw}/${owner}/${repo}/${ref}/${path}?token=short-lived`;
    return { status: 200, type: 'application/json', body: JSON.stringify({ type: 'file', name: 'app.yaml', path, download_url: download }) };
  }
  if (url.pathname.startsWith('/raw/'))
    return req.headers.authorization === `token ${GITHUB_TOKEN}` ? { status: 200, body: `${MANIFEST}# enterprise raw\n` } : notFound;
  // GitLab: GET /api/v4/projects/:id/repository/files/:file_path/raw?ref= with PRIVATE-TOKEN.
  const gitlab = /^\/api\/v4\/projects\/([^/]+)\/repository\/files\/([^/]+)\/raw$/.exec(url.pathname);
  if (gitlab) {
    if (req.headers['private-token'] !== GITLAB_TOKEN) return unauthorized;
    return decodeURIComponent(gitlab[2]!) === 'deploy/app.yaml' ? { status: 200, body: `${MANIFEST}# gitlab ${url.searchParams.get('ref')}\n` } : notFound;
  }
  // Bitbucket Cloud: GET /2.0/repositories/{workspace}/{repo_slug}/src/{commit}/{path} with a Bearer token.
  if (/^\/2\.0\/repositories\/[^/]+\/[^/]+\/src\/[^/]+\/deploy\/app\.yaml$/.test(url.pathname)) {
    return req.headers.authorization === `Bearer ${BITBUCKET_TOKEN}` ? { status: 200, body: `${MANIFEST}# bitbucket cloud\n` } : unauthorized;
  }
  // Bitbucket Server: GET /rest/api/1.0/projects/{key}/repos/{slug}/raw/{path}?at= with basic authentication.
  if (/^\/rest\/api\/1\.0\/projects\/[^/]+\/repos\/[^/]+\/raw\/deploy\/app\.yaml$/.test(url.pathname)) {
    return req.headers.authorization === basic() ? { status: 200, body: `${MANIFEST}# bitbucket server ${url.searchParams.get('at')}\n` } : unauthorized;
  }
  if (url.pathname === '/files/app.yaml') return req.headers.authorization === basic() ? { status: 200, body: MANIFEST } : unauthorized;
  return notFound;
}

function basic(): string {
  return `Basic ${Buffer.from(`${BASIC.user}:${BASIC.password}`).toString('base64')}`;
}

before(async () => {
  api = await listen('api', scm);
  raw = await listen('raw', (req) => (req.url?.includes('token=short-lived') ? { status: 200, body: `${MANIFEST}# raw.githubusercontent\n` } : notFound));
  dir = mkdtempSync(join(tmpdir(), 'artifact-service-'));
  writeFileSync(join(dir, 'github-token'), `${GITHUB_TOKEN}\n`);
  writeFileSync(join(dir, 'password'), BASIC.password);
  // The loopback server stands for each provider's service: the accounts' credentials may go to it.
  const origins = [api];
  const config = artifactsConfigSchema.parse({
    timeoutMs: 5_000,
    network: { allow: ['127.0.0.1'] },
    github: {
      accounts: [
        { name: 'github', tokenFile: join(dir, 'github-token'), origins },
        { name: 'github-raw', tokenEnv: 'TEST_GITHUB_TOKEN', useContentAPI: true, origins },
        { name: 'github-default', token: GITHUB_TOKEN },
        { name: 'github-anonymous' },
      ],
    },
    gitlab: { accounts: [{ name: 'gitlab', tokenEnv: 'TEST_GITLAB_TOKEN', origins }] },
    bitbucket: {
      accounts: [
        { name: 'bitbucket-cloud', token: BITBUCKET_TOKEN, origins },
        { name: 'bitbucket-server', username: BASIC.user, passwordFile: join(dir, 'password'), origins: [`${api}/`] },
      ],
    },
    http: { accounts: [{ name: 'web', username: BASIC.user, passwordEnv: 'TEST_HTTP_PASSWORD', origins }] },
  });
  service = new ArtifactService(config, { env: { TEST_GITHUB_TOKEN: GITHUB_TOKEN, TEST_GITLAB_TOKEN: GITLAB_TOKEN, TEST_HTTP_PASSWORD: BASIC.password } });
});

after(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  rmSync(dir, { recursive: true, force: true });
});

async function fetchText(artifact: Record<string, unknown>): Promise<string> {
  return (await service.fetch(artifact)).toString('utf8');
}

test('github/file: metadata then download_url; the token stays with the API origin', async () => {
  const reference = `${api}/repos/acme/web/contents/deploy/app.yaml`;
  seen.length = 0;
  assert.equal(await fetchText({ type: 'github/file', artifactAccount: 'github', reference, version: 'main' }), `${MANIFEST}# raw.githubusercontent\n`);
  assert.deepEqual(
    seen.map((s) => [s.server, s.url, s.headers.authorization, s.headers.accept]),
    [
      ['api', '/repos/acme/web/contents/deploy/app.yaml?ref=main', `token ${GITHUB_TOKEN}`, undefined],
      ['raw', '/acme/web/main/deploy/app.yaml?token=short-lived', undefined, undefined],
    ],
  );
  // GitHub Enterprise's download_url is on the API's origin: it gets the token.
  assert.equal(await fetchText({ type: 'github/file', artifactAccount: 'github', reference: `${reference}?where=same` }), `${MANIFEST}# enterprise raw\n`);
  assert.equal(seen.at(-1)!.headers.authorization, `token ${GITHUB_TOKEN}`);
  assert.match(seen.at(-2)!.url, /ref=master$/, 'no version reads master, as Clouddriver does');
});

test('github/file with useContentAPI: one request with the raw media type', async () => {
  seen.length = 0;
  const reference = `${api}/repos/acme/web/contents/deploy/app.yaml`;
  assert.equal(await fetchText({ type: 'github/file', artifactAccount: 'github-raw', reference, version: 'main' }), `${MANIFEST}# main raw\n`);
  assert.deepEqual(
    seen.map((s) => [s.url, s.headers.accept]),
    [['/repos/acme/web/contents/deploy/app.yaml?ref=main', 'application/vnd.github.v3.raw']],
  );
});

test('a rotated tokenFile is read at the next fetch', async () => {
  const reference = `${api}/repos/acme/web/contents/deploy/app.yaml`;
  writeFileSync(join(dir, 'github-token'), 'ghp_rotated\n');
  try {
    await refusal(service.fetch({ type: 'github/file', artifactAccount: 'github', reference }), Errors.ARTIFACT_FETCH_FAILED.code);
    assert.equal(seen.at(-1)!.headers.authorization, 'token ghp_rotated');
  } finally {
    writeFileSync(join(dir, 'github-token'), GITHUB_TOKEN);
  }
});

test('gitlab/file: the files API with PRIVATE-TOKEN and ?ref=', async () => {
  const reference = `${api}/api/v4/projects/42/repository/files/deploy%2Fapp.yaml/raw`;
  assert.equal(await fetchText({ type: 'gitlab/file', artifactAccount: 'gitlab', reference, version: 'v1.2' }), `${MANIFEST}# gitlab v1.2\n`);
  assert.equal(seen.at(-1)!.headers['private-token'], GITLAB_TOKEN);
});

test('bitbucket/file: Cloud with a Bearer token, Server with basic authentication', async () => {
  const cloud = `${api}/2.0/repositories/acme/web/src/0123abc/deploy/app.yaml`;
  assert.equal(await fetchText({ type: 'bitbucket/file', artifactAccount: 'bitbucket-cloud', reference: cloud }), `${MANIFEST}# bitbucket cloud\n`);
  assert.equal(seen.at(-1)!.headers.accept, 'application/json');
  const server = `${api}/rest/api/1.0/projects/ACME/repos/web/raw/deploy/app.yaml?at=refs/heads/main`;
  assert.equal(
    await fetchText({ type: 'bitbucket/file', artifactAccount: 'bitbucket-server', reference: server }),
    `${MANIFEST}# bitbucket server refs/heads/main\n`,
  );
});

test('http/file with basic authentication; an upstream refusal is ARTIFACT_FETCH_FAILED', async () => {
  assert.equal(await fetchText({ type: 'http/file', artifactAccount: 'web', reference: `${api}/files/app.yaml` }), MANIFEST);
  const missing = await refusal(
    service.fetch({ type: 'http/file', artifactAccount: 'web', reference: `${api}/files/gone.yaml` }),
    Errors.ARTIFACT_FETCH_FAILED.code,
  );
  assert.match(missing, /gone\.yaml answered 404: {"message":"Not Found"}/);
});

test('GET /artifacts/credentials shape: configured accounts, then the built-in embedded and custom ones', () => {
  assert.deepEqual(service.credentials(), [
    { name: 'github', types: ['github/file'], type: 'artifacts-github' },
    { name: 'github-raw', types: ['github/file'], type: 'artifacts-github' },
    { name: 'github-default', types: ['github/file'], type: 'artifacts-github' },
    { name: 'github-anonymous', types: ['github/file'], type: 'artifacts-github' },
    { name: 'gitlab', types: ['gitlab/file'], type: 'artifacts-gitlab' },
    { name: 'bitbucket-cloud', types: ['bitbucket/file'], type: 'artifacts-bitbucket' },
    { name: 'bitbucket-server', types: ['bitbucket/file'], type: 'artifacts-bitbucket' },
    { name: 'web', types: ['http/file'], type: 'artifacts-http' },
    { name: 'embedded-artifact', types: ['embedded/base64', 'remote/base64'], type: 'artifacts-embedded' },
    { name: 'custom-artifact', types: ['custom/object'], type: 'artifacts-custom' },
  ]);
  const anonymous = new ArtifactService(artifactsConfigSchema.parse({ http: { enabled: true } }));
  assert.deepEqual(
    anonymous.credentials().map((a) => a.name),
    ['no-auth-http-account', 'embedded-artifact', 'custom-artifact'],
  );
});

test('embedded/base64 decodes the reference; custom/object is listed but never fetched', async () => {
  const reference = Buffer.from(MANIFEST).toString('base64');
  assert.equal(await fetchText({ type: 'embedded/base64', artifactAccount: 'embedded-artifact', reference, name: 'baked', uuid: 'x', metadata: {} }), MANIFEST);
  await refusal(
    service.fetch({ type: 'embedded/base64', artifactAccount: 'embedded-artifact', reference: 'not base64!' }),
    Errors.ARTIFACT_REQUEST_INVALID.code,
  );
  await refusal(service.fetch({ type: 'custom/object', artifactAccount: 'custom-artifact', reference: 'gs://b/o' }), Errors.ARTIFACT_TYPE_UNSUPPORTED.code);
});

test('refusals: unknown account (404), unsupported type, malformed artifact naming the field', async () => {
  const unknown = await refusal(
    service.fetch({ type: 'github/file', artifactAccount: 'nope', reference: 'https://x' }),
    Errors.ARTIFACT_ACCOUNT_NOT_FOUND.code,
  );
  assert.equal(
    unknown,
    "Credentials 'nope' supporting artifact type 'github/file' cannot be found (accounts that handle github/file: github, github-raw, github-default, github-anonymous)",
  );
  await refusal(service.fetch({ type: 'gitlab/file', artifactAccount: 'github', reference: 'https://x' }), Errors.ARTIFACT_ACCOUNT_NOT_FOUND.code);
  await refusal(service.fetch({ type: 'helm/chart', artifactAccount: 'charts', name: 'x' }), Errors.ARTIFACT_ACCOUNT_NOT_FOUND.code);
  // git/repo is served (test/hub/git-repo-artifacts.test.ts): without a gitRepo account it is an unknown account.
  await refusal(service.fetch({ type: 'git/repo', artifactAccount: 'git', reference: 'https://x' }), Errors.ARTIFACT_ACCOUNT_NOT_FOUND.code);
  assert.match(
    await refusal(service.fetch({ type: 's3/object', artifactAccount: 's3', reference: 's3://b/k' }), Errors.ARTIFACT_TYPE_UNSUPPORTED.code),
    /through Clouddriver/,
  );
  assert.equal(await refusal(service.fetch({ type: 'github/file' }), Errors.ARTIFACT_REQUEST_INVALID.code), 'artifactAccount: is required');
  assert.equal(await refusal(service.fetch({ artifactAccount: 'github' }), Errors.ARTIFACT_REQUEST_INVALID.code), 'type: is required');
  assert.equal(
    await refusal(service.fetch({ type: 'http/file', artifactAccount: 'web', reference: 7 }), Errors.ARTIFACT_REQUEST_INVALID.code),
    'reference: must be a string, not number',
  );
  assert.equal(await refusal(service.fetch([]), Errors.ARTIFACT_REQUEST_INVALID.code), 'body: must be an artifact (a JSON object)');
  assert.match(await refusal(service.names('github', 'github/file'), Errors.ARTIFACT_TYPE_UNSUPPORTED.code), /names are not supported/);
});

test("an account's credentials go only to its origins: a reference elsewhere is 403 ARTIFACT_ORIGIN_REFUSED, before any request", async () => {
  // A server the caller controls, on another origin (another port): it must see no request with a credential.
  const attacker = await listen('attacker', () => ({ status: 200, type: 'application/json', body: '{"download_url":"http://127.0.0.1:1/x"}' }));
  seen.length = 0;
  const cases: Array<[string, string]> = [
    ['github/file', 'github'],
    ['github/file', 'github-raw'],
    ['gitlab/file', 'gitlab'],
    ['bitbucket/file', 'bitbucket-cloud'],
    ['bitbucket/file', 'bitbucket-server'],
    ['http/file', 'web'],
  ];
  for (const [type, account] of cases) {
    const message = await refusal(service.fetch({ type, artifactAccount: account, reference: `${attacker}/steal?x=1` }), Errors.ARTIFACT_ORIGIN_REFUSED.code);
    assert.equal(
      message,
      `artifact account '${account}' sends its credentials only to ${api} (artifacts.${type.split('/')[0]}.accounts[${account === 'github-raw' || account === 'bitbucket-server' ? 1 : 0}].origins); ` +
        `refused to fetch ${attacker}/steal, whose origin is ${attacker}`,
    );
  }
  // Without origins, an account with credentials keeps them for its provider's public service.
  assert.match(
    await refusal(
      service.fetch({ type: 'github/file', artifactAccount: 'github-default', reference: `${api}/repos/acme/web/contents/deploy/app.yaml` }),
      Errors.ARTIFACT_ORIGIN_REFUSED.code,
    ),
    /only to https:\/\/api\.github\.com \(artifacts\.github\.accounts\[2\]\.origins unset: the default for accounts with credentials\)/,
  );
  // The same host under another scheme is another origin: no token in clear text.
  await refusal(
    service.fetch({ type: 'github/file', artifactAccount: 'github-default', reference: 'http://api.github.com/repos/acme/web/contents/a.yaml' }),
    Errors.ARTIFACT_ORIGIN_REFUSED.code,
  );
  assert.equal(seen.length, 0, 'no request was made, to the attacker or anyone');
  // An account without credentials has nothing to leak: it fetches anywhere the network rules allow.
  await refusal(
    service.fetch({ type: 'github/file', artifactAccount: 'github-anonymous', reference: `${attacker}/public` }),
    Errors.ARTIFACT_FETCH_FAILED.code,
  );
  assert.deepEqual(
    seen.map((s) => [s.server, s.headers.authorization]),
    [['attacker', undefined]],
  );
});
