import { createHash } from 'node:crypto';

const BEGIN_CERTIFICATE = '-----BEGIN CERTIFICATE-----';
const END_CERTIFICATE = '-----END CERTIFICATE-----';
/** The base64 body of a PEM block: the alphabet, padding at the end only (whitespace removed first). */
const BASE64_BODY = /^[A-Za-z0-9+/]+={0,2}$/;
/** DER: the tag of a SEQUENCE, which every X.509 certificate is. */
const DER_SEQUENCE = 0x30;
/** DER long-form lengths a certificate can use (up to four length bytes: 4 GiB). */
const MAX_DER_LENGTH_BYTES = 4;

/**
 * SHA-256 (hex) of the DER of the first certificate in `caPem`: a stable identity for the cluster's CA,
 * so the hub can tell a re-created cluster of the same name from the one it knew. '' when there is no CA
 * or its first certificate block is not one DER SEQUENCE in base64.
 *
 * The DER is the block's base64 decoded, which is what parsing the certificate would hash: an agent
 * with a thousand accounts parsed a thousand certificates at start for this alone (X509Certificate,
 * about half a millisecond each) while TLS verifies the same CA anyway.
 */
export function caFingerprint(caPem: string | undefined): string {
  if (caPem === undefined) return '';
  const der = firstCertificateDer(caPem);
  return der === undefined ? '' : createHash('sha256').update(der).digest('hex');
}

function firstCertificateDer(pem: string): Buffer | undefined {
  const begin = pem.indexOf(BEGIN_CERTIFICATE);
  if (begin < 0) return undefined;
  const bodyStart = begin + BEGIN_CERTIFICATE.length;
  const end = pem.indexOf(END_CERTIFICATE, bodyStart);
  if (end < 0) return undefined;
  const body = pem.slice(bodyStart, end).replace(/\s+/g, '');
  if (!BASE64_BODY.test(body) || body.length % 4 !== 0) return undefined;
  const der = Buffer.from(body, 'base64');
  return isOneDerSequence(der) ? der : undefined;
}

/** Whether `der` is exactly one DER SEQUENCE: its tag, then a length that covers the rest and no more. */
function isOneDerSequence(der: Buffer): boolean {
  if (der.length < 2 || der[0] !== DER_SEQUENCE) return false;
  const first = der[1]!;
  if (first < 0x80) return 2 + first === der.length;
  const lengthBytes = first & 0x7f;
  if (lengthBytes === 0 || lengthBytes > MAX_DER_LENGTH_BYTES || der.length < 2 + lengthBytes) return false;
  let length = 0;
  for (let i = 0; i < lengthBytes; i++) length = length * 256 + der[2 + i]!;
  return 2 + lengthBytes + length === der.length;
}
