import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Errors, ScaleAgentError } from './errors.ts';

/** Certificate, key and CA files, each named by the configuration key that set it (for error messages). */
export interface TlsFiles {
  certFile?: { path: string; key: string };
  keyFile?: { path: string; key: string };
  /** Password of an encrypted private key. */
  keyPassword?: string;
  caFile?: { path: string; key: string };
}

/** The files' contents, checked: the key opens, belongs to the certificate, and every CA parses. */
export interface TlsMaterial {
  /** The certificate chain (leaf first), PEM. */
  cert?: Buffer;
  /** The private key re-encoded as unencrypted PKCS#8 PEM, whatever the file held (PKCS#8, PKCS#1, SEC1, encrypted). */
  key?: Buffer;
  /** The CA bundle, PEM. */
  ca?: Buffer;
  /** The leaf certificate, for logs (subject, expiry). */
  leaf?: { subject: string; notBefore: Date; notAfter: Date; serialNumber: string };
  /** SHA-256 over the files' bytes: changes whenever one of them does. */
  digest: string;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PEM_PRIVATE_KEY = /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]+?-----END \1PRIVATE KEY-----/;

function fail(key: string, path: string, why: string): ScaleAgentError {
  return new ScaleAgentError(Errors.TLS_FILES_INVALID, `${key}: ${path}: ${why}`, { key, path });
}

function read(file: { path: string; key: string }): Buffer {
  try {
    return readFileSync(file.path);
  } catch (err) {
    throw fail(file.key, file.path, `cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/**
 * The PEM certificates of a file, parsed, and re-joined one per line: OpenSSL misreads blocks that are
 * glued together without a line break (`-----END CERTIFICATE----------BEGIN…`), as `cat a.pem b.pem`
 * makes when a file lacks its final newline.
 */
function certificates(file: { path: string; key: string }, bytes: Buffer): { parsed: X509Certificate[]; pem: Buffer } {
  const blocks = bytes.toString('utf8').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw fail(file.key, file.path, 'no PEM certificate (-----BEGIN CERTIFICATE-----) in the file');
  const parsed = blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw fail(file.key, file.path, `certificate ${i + 1} does not parse: ${(err as Error).message}`);
    }
  });
  return { parsed, pem: Buffer.from(blocks.join('\n') + '\n') };
}

function privateKey(file: { path: string; key: string }, bytes: Buffer, password: string | undefined): KeyObject {
  // A file may hold the certificate and the key (Armory's server.ssl.certFile); OpenSSL reads only the first block.
  const keyBlock = PEM_PRIVATE_KEY.exec(bytes.toString('utf8'))?.[0];
  try {
    return createPrivateKey({ key: keyBlock ?? bytes, format: 'pem', ...(password === undefined ? {} : { passphrase: password }) });
  } catch (err) {
    const encrypted = /ENCRYPTED/.test(bytes.toString('utf8'));
    const hint =
      encrypted && password === undefined
        ? ' (the key is encrypted: set its password)'
        : ' (PEM: PKCS#8 "PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY" or SEC1 "EC PRIVATE KEY")';
    throw fail(file.key, file.path, `cannot read the private key${hint}: ${(err as Error).message}`);
  }
}

/**
 * Reads and checks TLS files. Every problem is a TLS_FILES_INVALID naming the configuration key and the
 * path, so a bad file stops a process at start, and a bad rotation is reported while the previous
 * material stays in use.
 */
export function readTlsMaterial(files: TlsFiles): TlsMaterial {
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
    const given = files.certFile ?? files.keyFile!;
    throw fail(given.key, given.path, 'a certificate needs its private key and the other way round');
  }
  const hash = createHash('sha256');
  const out: TlsMaterial = { digest: '' };
  if (files.certFile && files.keyFile) {
    const certBytes = read(files.certFile);
    const keyBytes = read(files.keyFile);
    hash.update(certBytes).update('\0').update(keyBytes).update('\0');
    const chain = certificates(files.certFile, certBytes);
    const leaf = chain.parsed[0];
    const key = privateKey(files.keyFile, keyBytes, files.keyPassword);
    if (!leaf!.checkPrivateKey(key))
      throw fail(files.keyFile.key, files.keyFile.path, `the private key does not belong to the certificate in ${files.certFile.path}`);
    out.cert = chain.pem;
    out.key = Buffer.from(key.export({ type: 'pkcs8', format: 'pem' }));
    out.leaf = {
      subject: leaf!.subject.replace(/\n/g, ', '),
      notBefore: new Date(leaf!.validFrom),
      notAfter: new Date(leaf!.validTo),
      serialNumber: leaf!.serialNumber.toLowerCase(),
    };
  }
  if (files.caFile) {
    const caBytes = read(files.caFile);
    hash.update(caBytes);
    out.ca = certificates(files.caFile, caBytes).pem;
  }
  out.digest = hash.digest('hex');
  return out;
}
