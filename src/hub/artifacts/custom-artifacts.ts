import { Errors, ScaleAgentError } from '../../common/errors.ts';
import type { Artifact, ArtifactCredentials } from './artifact.ts';

/** Clouddriver's built-in account for custom artifacts. */
export const CUSTOM_ACCOUNT = 'custom-artifact';

/**
 * `custom/object`: listed, so Deck offers the account, but never fetched. Clouddriver's
 * CustomArtifactCredentials refuses to download too: such references are handed to the platform as
 * they are (an image name, a bucket path) for it to interpret.
 */
export class CustomArtifactCredentials implements ArtifactCredentials {
  readonly name = CUSTOM_ACCOUNT;
  readonly credentialsType = 'artifacts-custom';
  readonly types = ['custom/object'] as const;

  handles(type: string): boolean {
    return type === 'custom/object';
  }

  async download(artifact: Artifact): Promise<Buffer> {
    throw new ScaleAgentError(
      Errors.ARTIFACT_TYPE_UNSUPPORTED,
      `${artifact.type} artifacts are not fetched: custom references are passed on to the platform to handle (as in Clouddriver)`,
      { type: artifact.type },
    );
  }
}
