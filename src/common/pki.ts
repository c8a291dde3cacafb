import { webcrypto, createHash, createPrivateKey } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

installReflectMetadata();
/**
 * Loaded after the polyfill above: @peculiar/x509 registers its algorithms through tsyringe, which refuses
 * to load unless `Reflect.getMetadata` exists; a static import would be evaluated before the polyfill.
 */
const x509: typeof X509 = await import('@peculiar/x509');

/**
 * The three Reflect metadata functions tsyringe calls (x509 declares no constructor parameter types, so
 * class-level metadata is all it needs); saves a dependency on reflect-metadata. Left alone when a real
 * polyfill is already installed.
 */
function installReflectMetadata(): void {
  const reflect = Reflect as unknown as Record<string, unknown>;
  if (typeof reflect.getMetadata === 'function') return;
  const store = new WeakMap<object, Map<unknown, unknown>>();
  const own = (target: object, key: unknown): unknown => store.get(target)?.get(key);
  reflect.defineMetadata = (key: unknown, value: unknown, target: object): void => {
    let entries = store.get(target);
    if (entries === undefined) store.set(target, (entries = new Map()));
    entries.set(key, value);
  };
  reflect.getOwnMetadata = (key: unknown, target: object): unknown => own(target, key);
  reflect.getMetadata = (key: unknown, target: object): unknown => {
    for (let t: object | null = target; t !== null; t = Object.getPrototypeOf(t) as object | null) {
      const value = own(t, key);
      if (value !== undefined) return value;
    }
    return undefined;
  };
}

export interface CertificateAndKey {
  certPem: string;
  /** PKCS#8 private key, PEM. */
  keyPem: string;
}

export type CertificateUsage = 'server' | 'client' | 'both';

export interface CertificateAuthorityOptions {
  commonName: string;
  notBefore?: Date;
  notAfter?: Date;
}

/** The leaf key's algorithm: ECDSA P-256 (the default) or RSA 2048 (for PKCS#1 keys, which only RSA has). */
export type KeyAlgorithm = 'ec-p256' | 'rsa-2048';

export interface IssueCertificateOptions {
  ca: CertificateAndKey;
  commonName: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  /** URI subject alternative names, e.g. a SPIFFE id `spiffe://example.org/ns/spinnaker/sa/agent`. */
  uris?: string[];
  keyAlgorithm?: KeyAlgorithm;
  notBefore?: Date;
  notAfter?: Date;
  usage: CertificateUsage;
  organization?: string;
}

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const RSA_KEY_ALGORITHM = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;
/** CAs outlive the certificates they sign, so a long-running demo never sees its CA expire first. */
const DEFAULT_CA_VALIDITY_DAYS = 3650;
const DEFAULT_CERT_VALIDITY_DAYS = 365;
/** Backdating covers small clock differences between the issuer and the peer that checks the certificate. */
const CLOCK_SKEW_ALLOWANCE_MS = 5 * 60 * 1000;
const SERIAL_NUMBER_BYTES = 16;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(SERIAL_NUMBER_BYTES));
  // A positive integer: the top bit clear, as RFC 5280 asks.
  bytes[0] = bytes[0]! & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

function escapeDnValue(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1');
}

async function generateKeys(algorithm: KeyAlgorithm = 'ec-p256'): Promise<CryptoKeyPair> {
  const params = algorithm === 'rsa-2048' ? RSA_KEY_ALGORITHM : KEY_ALGORITHM;
  return (await webcrypto.subtle.generateKey(params, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importKeyPem(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decode(pem)[0];
  if (der === undefined) throw new Error('no PEM block in private key');
  return webcrypto.subtle.importKey('pkcs8', der, KEY_ALGORITHM, true, ['sign']);
}

export async function createCertificateAuthority(options: CertificateAuthorityOptions): Promise<CertificateAndKey> {
  const keys = await generateKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${escapeDnValue(options.commonName)}`,
    notBefore: options.notBefore ?? new Date(now - CLOCK_SKEW_ALLOWANCE_MS),
    notAfter: options.notAfter ?? new Date(now + DEFAULT_CA_VALIDITY_DAYS * DAY_MS),
    signingAlgorithm: SIGNING_ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}

export async function issueCertificate(options: IssueCertificateOptions): Promise<CertificateAndKey> {
  const caCert = new x509.X509Certificate(options.ca.certPem);
  const caKey = await importKeyPem(options.ca.keyPem);
  const keys = await generateKeys(options.keyAlgorithm);
  const now = Date.now();
  const usages: string[] = [];
  if (options.usage === 'server' || options.usage === 'both') usages.push(x509.ExtendedKeyUsage.serverAuth);
  if (options.usage === 'client' || options.usage === 'both') usages.push(x509.ExtendedKeyUsage.clientAuth);
  const altNames: X509.JsonGeneralName[] = [
    ...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
    ...(options.uris ?? []).map((value) => ({ type: 'url' as const, value })),
  ];
  const extensions: X509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension(usages, false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
  ];
  if (altNames.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(altNames, false));
  const subject =
    options.organization === undefined
      ? `CN=${escapeDnValue(options.commonName)}`
      : `CN=${escapeDnValue(options.commonName)}, O=${escapeDnValue(options.organization)}`;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject,
    issuer: caCert.subject,
    notBefore: options.notBefore ?? new Date(now - CLOCK_SKEW_ALLOWANCE_MS),
    notAfter: options.notAfter ?? new Date(now + DEFAULT_CERT_VALIDITY_DAYS * DAY_MS),
    signingAlgorithm: SIGNING_ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions,
  });
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}

export type PrivateKeyFormat = 'pkcs8' | 'pkcs1' | 'sec1';

/**
 * The same private key in another PEM encoding: PKCS#8 (`BEGIN PRIVATE KEY`, what this module writes),
 * PKCS#1 (`BEGIN RSA PRIVATE KEY`, RSA keys only, as `openssl genrsa` of OpenSSL 1.x writes) or SEC1
 * (`BEGIN EC PRIVATE KEY`, EC keys only).
 */
export function convertPrivateKeyPem(keyPem: string, format: PrivateKeyFormat): string {
  return createPrivateKey(keyPem).export({ type: format, format: 'pem' }).toString();
}

/** What identifies the holder of a certificate: its subject and subject alternative names. */
export interface CertificateIdentity {
  /** The subject as RFC 4514-like text in the certificate's attribute order, e.g. `CN=agent-1, O=Acme`. */
  subject: string;
  /** The subject's common name (the first CN), if any. */
  commonName: string | undefined;
  dnsNames: string[];
  /** URI names (SPIFFE ids and the like). */
  uris: string[];
  ipAddresses: string[];
  emails: string[];
  /** Serial number, lowercase hex. */
  serialNumber: string;
  notAfter: Date;
  /** SHA-256 of the DER, lowercase hex. */
  fingerprint: string;
}

/** Reads the identity out of a certificate (PEM text or DER bytes). */
export function certificateIdentity(certificate: string | Uint8Array): CertificateIdentity {
  const cert = typeof certificate === 'string' ? new x509.X509Certificate(certificate) : new x509.X509Certificate(new Uint8Array(certificate));
  const names = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON() ?? [];
  const of = (type: string) => names.filter((n) => n.type === type).map((n) => n.value);
  return {
    subject: cert.subject,
    commonName: cert.subjectName.getField('CN')[0],
    dnsNames: of('dns'),
    uris: of('url'),
    ipAddresses: of('ip'),
    emails: of('email'),
    serialNumber: cert.serialNumber.toLowerCase(),
    notAfter: cert.notAfter,
    fingerprint: createHash('sha256').update(new Uint8Array(cert.rawData)).digest('hex'),
  };
}
