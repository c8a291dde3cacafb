import { createHash, X509Certificate } from 'node:crypto';

/**
 * SHA-256 (hex) of the DER of the first certificate in `caPem`: a stable identity for the cluster's CA,
 * so the hub can tell a re-created cluster of the same name from the one it knew. '' when there is no CA
 * or it does not parse.
 *
 * The DER is OpenSSL's encoding of the parsed certificate, not the PEM block's bytes as written: the two
 * differ for a `TRUSTED CERTIFICATE` block, trailing trust data or a non-minimal outer length, all of
 * which TLS accepts as a CA, and the hub compares fingerprints exactly.
 */
export function caFingerprint(caPem: string | undefined): string {
  if (caPem === undefined || caPem.trim() === '') return '';
  try {
    return createHash('sha256').update(new X509Certificate(caPem).raw).digest('hex');
  } catch {
    return '';
  }
}
