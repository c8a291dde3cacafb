import { Errors, ScaleAgentError } from '../../common/errors.ts';
import { HTTP_PAYLOAD_TOO_LARGE } from '../../common/http-status.ts';
import { requestInvalid, requiredReference, type Artifact, type ArtifactCredentials } from './artifact.ts';

/** Clouddriver's built-in account for embedded artifacts: always there, whatever the configuration. */
export const EMBEDDED_ACCOUNT = 'embedded-artifact';
export const EMBEDDED_TYPES = ['embedded/base64', 'remote/base64'] as const;

/** Standard base64, padding optional (java.util.Base64's basic decoder); line breaks are tolerated. */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64_BITS_PER_CHAR = 6;
const BITS_PER_BYTE = 8;

/**
 * `embedded/base64` (Bake (Manifest)'s output, inline manifests) and `remote/base64`: the reference is
 * the content, base64-encoded. Nothing is fetched.
 */
export class EmbeddedArtifactCredentials implements ArtifactCredentials {
  readonly name = EMBEDDED_ACCOUNT;
  readonly credentialsType = 'artifacts-embedded';
  readonly types = EMBEDDED_TYPES;

  constructor(private readonly maxBytes: number) {}

  /** Clouddriver's rule: any `embedded/…` or `remote/…` type is this account's; only the two above decode. */
  handles(type: string): boolean {
    return type.startsWith('embedded/') || type.startsWith('remote/');
  }

  async download(artifact: Artifact): Promise<Buffer> {
    if (!(EMBEDDED_TYPES as readonly string[]).includes(artifact.type)) {
      throw new ScaleAgentError(Errors.ARTIFACT_TYPE_UNSUPPORTED, `embedded type '${artifact.type}' is not handled (only ${EMBEDDED_TYPES.join(', ')})`, {
        type: artifact.type,
      });
    }
    const text = requiredReference(artifact).replace(/\s+/g, '');
    if (!BASE64.test(text)) throw requestInvalid('reference', `is not base64 (${artifact.type} carries the content base64-encoded)`);
    const decodedBytes = Math.floor((text.replace(/=+$/, '').length * BASE64_BITS_PER_CHAR) / BITS_PER_BYTE);
    if (decodedBytes > this.maxBytes) {
      // The caller sent it: a 413, not the 502 of an artifact server's answer.
      throw new ScaleAgentError(
        { code: Errors.ARTIFACT_TOO_LARGE.code, httpStatus: HTTP_PAYLOAD_TOO_LARGE },
        `the ${artifact.type} artifact is ${decodedBytes} bytes; at most ${this.maxBytes} are read (artifacts.maxBytes)`,
        {
          limit: this.maxBytes,
        },
      );
    }
    return Buffer.from(text, 'base64');
  }
}
