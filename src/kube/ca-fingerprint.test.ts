import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { createCertificateAuthority } from '../common/pki.ts';
import { caFingerprint } from './ca-fingerprint.ts';

const sha256 = (der: Buffer) => createHash('sha256').update(der).digest('hex');

test('the fingerprint is the SHA-256 of the DER a certificate parser reads, of the first certificate of a bundle', async () => {
  const [a, b] = await Promise.all([createCertificateAuthority({ commonName: 'fp-a' }), createCertificateAuthority({ commonName: 'fp-b' })]);
  const expected = sha256(new X509Certificate(a.certPem).raw);
  assert.equal(caFingerprint(a.certPem), expected);
  assert.equal(caFingerprint(`${a.certPem}\n${b.certPem}`), expected);
  assert.equal(caFingerprint(`# a comment before it\n${a.certPem.replaceAll('\n', '\r\n')}`), expected);
  assert.notEqual(caFingerprint(b.certPem), expected);
});

test('no CA, or one that does not parse as a certificate, has no fingerprint', async () => {
  const { certPem, keyPem } = await createCertificateAuthority({ commonName: 'fp-c' });
  const body = certPem.split('\n').slice(1, -2).join('');
  const block = (text: string) => `-----BEGIN CERTIFICATE-----\n${text}\n-----END CERTIFICATE-----\n`;
  for (const pem of [
    undefined,
    '',
    '   ',
    keyPem,
    'not a certificate',
    '-----BEGIN CERTIFICATE-----\nMIIB',
    block('!!!!'),
    block(Buffer.from('hello, world').toString('base64')),
    // A certificate with a byte cut off, and with a byte too many.
    block(Buffer.from(body, 'base64').subarray(0, -1).toString('base64')),
    block(Buffer.concat([Buffer.from(body, 'base64'), Buffer.from([0])]).toString('base64')),
  ])
    assert.equal(caFingerprint(pem), '', String(pem).slice(0, 40));
});
