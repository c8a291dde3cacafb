// The `artifacts` section: its defaults, what it refuses (naming the key), and that secrets given by
// file or variable are read at start, so a missing one stops the hub with CONFIG_INVALID naming the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Errors, isScaleAgentError } from '../../common/errors.ts';
import { hubConfigSchema } from '../config.ts';
import { artifactsConfigSchema } from './artifact-config.ts';
import { ArtifactService } from './artifact-service.ts';

function problems(input: unknown): string[] {
  const result = artifactsConfigSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

test('defaults: 20 MiB, 8 fetches at once and 16 waiting, 30 s, 5 s to connect, 5 redirects, no extra addresses, every provider off', () => {
  const config = hubConfigSchema.parse({}).artifacts;
  assert.deepEqual(config, {
    maxBytes: 20 * 1024 * 1024,
    maxConcurrentFetches: 8,
    maxQueuedFetches: 16,
    timeoutMs: 30_000,
    connectTimeoutMs: 5_000,
    maxRedirects: 5,
    network: { allow: [], deny: [], allowPublic: true },
    http: { enabled: false, accounts: [] },
    github: { enabled: false, accounts: [] },
    gitlab: { enabled: false, accounts: [] },
    bitbucket: { enabled: false, accounts: [] },
    helm: { enabled: false, accounts: [], indexMaxBytes: 10 * 1024 * 1024, indexCacheMs: 60_000 },
    gitRepo: { enabled: false, accounts: [] },
  });
  const withAccounts = artifactsConfigSchema.parse({
    gitlab: { accounts: [{ name: 'gl' }] },
    helm: { enabled: false, accounts: [{ name: 'h', repository: 'https://charts.example' }] },
  });
  assert.equal(withAccounts.gitlab.enabled, true, 'accounts turn a provider on');
  assert.equal(withAccounts.helm.enabled, false, 'enabled: false keeps it off, as in Clouddriver');
  assert.equal(withAccounts.github.accounts.length, 0);
  assert.deepEqual(
    new ArtifactService(withAccounts).credentials().map((a) => a.name),
    ['gl', 'embedded-artifact', 'custom-artifact'],
  );
});

test('refusals name the key', () => {
  assert.deepEqual(problems({ github: { accounts: [{ name: 'g', token: 'a', tokenFile: '/f' }] } }), [
    'github.accounts.0.tokenFile: set only one of token, tokenFile',
  ]);
  assert.deepEqual(problems({ http: { accounts: [{ name: 'h', username: 'u' }] } }), [
    'http.accounts.0.username: username needs a password (password, passwordFile or passwordEnv)',
  ]);
  assert.deepEqual(
    problems({ http: { accounts: [{ name: 'h', username: 'u', password: 'p', usernamePasswordFile: '/f', origins: ['https://f.example'] }] } }),
    ['http.accounts.0.usernamePasswordFile: usernamePasswordFile replaces username and password: set one or the other'],
  );
  assert.match(
    problems({ gitlab: { accounts: [{ name: 'g', token: 'encrypted:vault!e:secret!p:gl!k:token' }] } })[0]!,
    /gitlab\.accounts\.0\.token: secret references .* are resolved by agents/,
  );
  assert.deepEqual(
    problems({
      helm: {
        accounts: [
          { name: 'h', repository: 'https://a' },
          { name: 'h', repository: 'https://b' },
        ],
      },
    }),
    ['helm.accounts.1.name: the same name as accounts[0]'],
  );
  assert.deepEqual(problems({ helm: { accounts: [{ name: 'h', repository: 'oci://registry/charts' }] } }), [
    'helm.accounts.0.repository: "oci://registry/charts" is not an http(s) URL',
  ]);
  assert.deepEqual(problems({ network: { allow: ['10.0.0.0/33', 'nope'] } }), [
    'network.allow.0: "10.0.0.0/33": the prefix length must be 0 to 32',
    'network.allow.1: "nope" is not a CIDR block (like 10.0.0.0/8 or fd00::/8) or an address',
  ]);
  assert.equal(problems({ github: { accounts: [{ name: 'g', apiToken: 'x' }] } }).length, 1, 'unknown keys are refused');
  assert.deepEqual(problems({ maxConcurrentFetches: 0, helm: { indexMaxBytes: 10, indexCacheMs: -1 } }), [
    'maxConcurrentFetches: Too small: expected number to be >=1',
    'helm.indexMaxBytes: Too small: expected number to be >=1024',
    'helm.indexCacheMs: Too small: expected number to be >=0',
  ]);
});

test('origins: an http account with credentials must set them; each is an http(s) origin, normalised', () => {
  assert.deepEqual(problems({ http: { accounts: [{ name: 'h', username: 'u', passwordFile: '/p' }] } }), [
    'http.accounts.0.origins: an http account with credentials must list the origins they may be sent to (origins: [https://files.example.com])',
  ]);
  assert.deepEqual(problems({ http: { accounts: [{ name: 'h', usernamePasswordFile: '/f' }] } }).length, 1);
  assert.deepEqual(problems({ http: { accounts: [{ name: 'anonymous' }] } }), [], 'an account without credentials needs none');
  assert.deepEqual(
    problems({
      github: {
        accounts: [
          { name: 'a', token: 't', origins: ['https://ghe.example.com/api/v3'] },
          { name: 'b', token: 't', origins: ['ftp://ghe.example.com'] },
          { name: 'c', token: 't', origins: [] },
        ],
      },
    }),
    [
      'github.accounts.0.origins.0: "https://ghe.example.com/api/v3" is not an origin: give the scheme, host and port only (https://ghe.example.com)',
      'github.accounts.1.origins.0: "ftp://ghe.example.com" is not an http(s) origin (like https://github.example.com)',
      'github.accounts.2.origins: Too small: expected array to have >=1 items',
    ],
  );
  const config = artifactsConfigSchema.parse({
    gitlab: { accounts: [{ name: 'g', token: 't', origins: ['HTTPS://GitLab.Example.com:443/', 'http://10.0.0.5:8080'] }] },
  });
  assert.deepEqual(config.gitlab.accounts[0]!.origins, ['https://gitlab.example.com', 'http://10.0.0.5:8080']);
});

test('network rules: an entry in a form that carries IPv4 addresses is read as its IPv4 block; the whole carrying prefix is refused', () => {
  assert.deepEqual(problems({ network: { deny: ['::ffff:8.8.8.0/120', '64:ff9b::10.0.0.0/104', '::ffff:0:0/96'] } }), [
    'network.deny.2: "::ffff:0:0/96" is every IPv4 address in the form ::ffff:0:0/96 carries (addresses in it are judged as their IPv4 address): list IPv4 blocks instead (10.0.0.0/8, or 0.0.0.0/0 if every IPv4 address is meant)',
  ]);
});

test('a token file or variable that cannot be read stops the start, naming the key', () => {
  const config = artifactsConfigSchema.parse({ github: { accounts: [{ name: 'g' }, { name: 'g2', tokenFile: '/nonexistent/token' }] } });
  assert.throws(
    () => new ArtifactService(config),
    (err) =>
      isScaleAgentError(err, Errors.CONFIG_INVALID.code) && /artifacts\.github\.accounts\[1\]\.tokenFile: cannot read \/nonexistent\/token/.test(err.message),
  );
  const byEnv = artifactsConfigSchema.parse({ bitbucket: { accounts: [{ name: 'b', username: 'u', passwordEnv: 'UNSET_BB_PASSWORD' }] } });
  assert.throws(
    () => new ArtifactService(byEnv, { env: {} }),
    (err) =>
      isScaleAgentError(err, Errors.CONFIG_INVALID.code) &&
      /artifacts\.bitbucket\.accounts\[0\]\.passwordEnv: environment variable UNSET_BB_PASSWORD is not set/.test(err.message),
  );
});
