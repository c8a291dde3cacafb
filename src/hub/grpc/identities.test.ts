import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CertificateIdentity } from '../../common/pki.ts';
import { globToRegExp, IdentityAuthorizer } from './identities.ts';

function cert(commonName: string, extra: Partial<CertificateIdentity> = {}): CertificateIdentity {
  return {
    subject: `CN=${commonName}`,
    commonName,
    dnsNames: [],
    uris: [],
    ipAddresses: [],
    emails: [],
    serialNumber: '01',
    notAfter: new Date(),
    fingerprint: 'f',
    ...extra,
  };
}

test('globs: * is any run of characters, everything else is literal', () => {
  assert.ok(globToRegExp('prod-*').test('prod-eu.1/x'));
  assert.ok(!globToRegExp('prod-*').test('staging-prod-1'));
  assert.ok(globToRegExp('a.b').test('a.b'));
  assert.ok(!globToRegExp('a.b').test('axb'));
  assert.ok(globToRegExp('*').test(''));
  assert.ok(globToRegExp('spiffe://acme/*/agent').test('spiffe://acme/ns/x/agent'));
  assert.ok(!globToRegExp('Prod').test('prod'));
});

test('every field of a match must hold; an agent matching several identities gets their union', () => {
  const authorizer = new IdentityAuthorizer(
    [
      { name: 'eu', match: { subject: 'agent-eu-*' }, accounts: ['eu-*'] },
      { name: 'eu-with-token', match: { subject: 'agent-eu-*', token: 'sesame' }, accounts: ['secret-*'] },
      { name: 'dns', match: { san: '*.agents.example' }, accounts: ['dns-*'] },
    ],
    false,
  );
  const plain = authorizer.authenticate({ certificate: cert('agent-eu-1') });
  assert.ok(plain.ok);
  assert.deepEqual(plain.identity.names, ['eu']);
  assert.ok(authorizer.allows(plain.identity, 'eu-1'));
  assert.ok(!authorizer.allows(plain.identity, 'secret-1'));

  const both = authorizer.authenticate({ certificate: cert('agent-eu-1', { dnsNames: ['a.agents.example'] }), token: 'sesame' });
  assert.ok(both.ok);
  assert.deepEqual(both.identity.names, ['dns', 'eu', 'eu-with-token']);
  assert.ok(authorizer.allows(both.identity, 'secret-1') && authorizer.allows(both.identity, 'dns-1'));
  assert.deepEqual(authorizer.allowance(both.identity), ['eu-*', 'secret-*', 'dns-*']);

  const wrongToken = authorizer.authenticate({ certificate: cert('agent-eu-1'), token: 'guess' });
  assert.deepEqual(wrongToken, { ok: false, code: 'AGENT_TOKEN_INVALID', message: 'the bearer token matches no identity on this hub' });
  const nobody = authorizer.authenticate({});
  assert.equal(!nobody.ok && nobody.code, 'AGENT_UNAUTHENTICATED');
});

test('a token is ignored (not refused) when no identity checks tokens, e.g. one meant for a proxy in front', () => {
  const authorizer = new IdentityAuthorizer([{ name: 'eu', match: { subject: 'agent-eu-*' }, accounts: ['*'] }], false);
  const result = authorizer.authenticate({ certificate: cert('agent-eu-1'), token: 'for-the-proxy' });
  assert.ok(result.ok && result.identity.token);
});

test('a token given inline, as { value }, or by environment variable', () => {
  process.env.SCALE_AGENT_IDENTITIES_TEST_TOKEN = 'from-env';
  try {
    const authorizer = new IdentityAuthorizer(
      [
        { name: 'inline', match: { token: 'plain' }, accounts: ['a'] },
        { name: 'value', match: { token: { value: 'wrapped' } }, accounts: ['b'] },
        { name: 'env', match: { token: { env: 'SCALE_AGENT_IDENTITIES_TEST_TOKEN' } }, accounts: ['c'] },
      ],
      false,
    );
    for (const [token, name] of [
      ['plain', 'inline'],
      ['wrapped', 'value'],
      ['from-env', 'env'],
    ]) {
      const result = authorizer.authenticate({ token });
      assert.ok(result.ok && result.identity.names[0] === name, token);
    }
  } finally {
    delete process.env.SCALE_AGENT_IDENTITIES_TEST_TOKEN;
  }
});

test('allowAnyIdentity admits the unmatched for any account', () => {
  const authorizer = new IdentityAuthorizer([], true);
  const result = authorizer.authenticate({});
  assert.ok(result.ok);
  assert.deepEqual(result.identity.names, []);
  assert.ok(authorizer.allows(result.identity, 'anything'));
});

test('a token file is re-read when it changes; a missing file matches nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'identities-'));
  try {
    const file = join(dir, 'token');
    writeFileSync(file, 'one\n');
    const authorizer = new IdentityAuthorizer([{ name: 'f', match: { token: { file } }, accounts: ['*'] }], false);
    assert.ok(authorizer.authenticate({ token: 'one' }).ok);
    writeFileSync(file, 'two');
    assert.ok(!authorizer.authenticate({ token: 'one' }).ok);
    assert.ok(authorizer.authenticate({ token: 'two' }).ok);
    rmSync(file);
    assert.ok(!authorizer.authenticate({ token: 'two' }).ok);
    assert.throws(
      () => new IdentityAuthorizer([{ name: 'f', match: { token: { file } }, accounts: ['*'] }], false),
      /identities\[0\]\.match\.token: cannot read the token file/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
