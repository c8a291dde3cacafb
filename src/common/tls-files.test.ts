import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isScaleAgentError } from './errors.ts';
import { FilePoller } from './file-watch.ts';
import { convertPrivateKeyPem, createCertificateAuthority, issueCertificate } from './pki.ts';
import { readTlsMaterial } from './tls-files.ts';

describe('readTlsMaterial', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tls-files-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return { path, key: `test.${name}` };
  };

  test('PKCS#8, PKCS#1, SEC1 and encrypted keys all come out as PKCS#8 matching the certificate', async () => {
    const ca = await createCertificateAuthority({ commonName: 'ca' });
    const ec = await issueCertificate({ ca, commonName: 'ec', usage: 'client' });
    const rsa = await issueCertificate({ ca, commonName: 'rsa', usage: 'client', keyAlgorithm: 'rsa-2048' });
    const encrypted = createPrivateKey(ec.keyPem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString();
    const cases: Array<[string, string, string, string | undefined]> = [
      ['pkcs8', ec.certPem, ec.keyPem, undefined],
      ['sec1', ec.certPem, convertPrivateKeyPem(ec.keyPem, 'sec1'), undefined],
      ['pkcs1', rsa.certPem, convertPrivateKeyPem(rsa.keyPem, 'pkcs1'), undefined],
      ['encrypted', ec.certPem, encrypted, 'pw'],
    ];
    for (const [name, cert, key, password] of cases) {
      const material = readTlsMaterial({
        certFile: write(`${name}.pem`, cert),
        keyFile: write(`${name}-key.pem`, key),
        ...(password ? { keyPassword: password } : {}),
      });
      assert.match(material.key!.toString(), /^-----BEGIN PRIVATE KEY-----/, name);
      assert.equal(material.leaf?.subject, `CN=${name === 'pkcs1' ? 'rsa' : 'ec'}`);
    }
    assert.match(convertPrivateKeyPem(rsa.keyPem, 'pkcs1'), /BEGIN RSA PRIVATE KEY/);
    assert.throws(
      () => readTlsMaterial({ certFile: write('e.pem', ec.certPem), keyFile: write('e-key.pem', encrypted) }),
      (err) => isScaleAgentError(err, 'TLS_FILES_INVALID') && /test\.e-key\.pem: .*the key is encrypted: set its password/.test(err.message),
    );
  });

  test('every problem names the key and the file', async () => {
    const ca = await createCertificateAuthority({ commonName: 'ca' });
    const a = await issueCertificate({ ca, commonName: 'a', usage: 'client' });
    const b = await issueCertificate({ ca, commonName: 'b', usage: 'client' });
    const problems: Array<[Parameters<typeof readTlsMaterial>[0], RegExp]> = [
      [{ caFile: { path: join(dir, 'nope.pem'), key: 'x.caFile' } }, /x\.caFile: .*nope\.pem: cannot read the file \(ENOENT\)/],
      [{ caFile: write('junk.pem', 'hello') }, /no PEM certificate/],
      [{ certFile: write('a.pem', a.certPem), keyFile: write('b-key.pem', b.keyPem) }, /does not belong to the certificate/],
      [{ certFile: write('a2.pem', a.certPem), keyFile: write('junk-key.pem', 'junk') }, /cannot read the private key/],
      [{ certFile: write('a3.pem', a.certPem) }, /a certificate needs its private key/],
    ];
    for (const [files, pattern] of problems)
      assert.throws(
        () => readTlsMaterial(files),
        (err) => isScaleAgentError(err, 'TLS_FILES_INVALID') && pattern.test(err.message),
      );
  });

  test('a CA bundle glued without line breaks is re-joined one certificate per line', async () => {
    const one = await createCertificateAuthority({ commonName: 'one' });
    const two = await createCertificateAuthority({ commonName: 'two' });
    const material = readTlsMaterial({ caFile: write('bundle.pem', one.certPem.trim() + two.certPem.trim()) });
    assert.equal(material.ca!.toString().match(/-----END CERTIFICATE-----\n/g)?.length, 2);
  });
});

test('FilePoller reports a change of contents once, and a file that disappears', () => {
  const dir = mkdtempSync(join(tmpdir(), 'file-poller-'));
  try {
    const path = join(dir, 'f');
    writeFileSync(path, 'one');
    let changes = 0;
    const poller = new FilePoller([path], 0, () => changes++);
    assert.equal(poller.check(), false);
    writeFileSync(path, 'two');
    assert.equal(poller.check(), true);
    assert.equal(poller.check(), false);
    rmSync(path);
    assert.equal(poller.check(), true);
    assert.equal(changes, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
