import { Errors, ScaleAgentError } from '../../common/errors.ts';
import type { Artifact, ArtifactCredentials } from './artifact.ts';
import { requiredReference } from './artifact.ts';
import type { SecretSource } from './artifact-secrets.ts';
import { shownUrl, type BoundedHttpClient } from './bounded-http.ts';
import type { CredentialOrigins } from './credential-origins.ts';
import { withRef } from './git-ref.ts';

export interface GithubOptions {
  /** One request with the raw media type instead of metadata then download_url. */
  useContentAPI: boolean;
  /** The version in the raw media type (`application/vnd.github.<version>.raw`). */
  githubAPIVersion: string;
}

/**
 * `github/file`, as Clouddriver's GitHubArtifactCredentials fetches it: the reference is the content API
 * URL (`https://api.github.com/repos/{owner}/{repo}/contents/{path}`, or GitHub Enterprise's
 * `https://{host}/api/v3/repos/…`), the version the ref (`?ref=`, `master` when absent). By default the
 * file's metadata is read and then its `download_url`; with `useContentAPI` the content API answers the
 * file itself for the raw media type. The token goes as `Authorization: token <token>` (or basic
 * authentication with username and password).
 *
 * The reference must be on one of the account's origins (`origins`; https://api.github.com by default
 * for an account with credentials). The download_url gets the account's credentials only when it has
 * the reference's origin (GitHub Enterprise's `/raw/` URLs). GitHub.com points to
 * raw.githubusercontent.com, whose URL for a private file carries its own short-lived token, so the
 * account's token never leaves api.github.com.
 */
export class GithubArtifactCredentials implements ArtifactCredentials {
  readonly credentialsType = 'artifacts-github';
  readonly types = ['github/file'] as const;

  constructor(
    readonly name: string,
    private readonly client: BoundedHttpClient,
    private readonly authorization: SecretSource | undefined,
    private readonly origins: CredentialOrigins,
    private readonly options: GithubOptions,
  ) {}

  handles(type: string): boolean {
    return type === 'github/file';
  }

  async download(artifact: Artifact): Promise<Buffer> {
    const metadataUrl = withRef(requiredReference(artifact), artifact.version);
    this.origins.check(metadataUrl);
    const credentials: Record<string, string> = this.authorization === undefined ? {} : { authorization: this.authorization.value() };
    if (this.options.useContentAPI) {
      const headers = { accept: `application/vnd.github.${this.options.githubAPIVersion}.raw` };
      return (await this.client.get({ url: metadataUrl, headers, credentials })).body;
    }
    const metadata = await this.client.get({ url: metadataUrl, credentials });
    const downloadUrl = downloadUrlOf(metadata.body, metadataUrl);
    const sameOrigin = new URL(downloadUrl, metadataUrl).origin === new URL(metadataUrl).origin;
    return (await this.client.get({ url: new URL(downloadUrl, metadataUrl).href, credentials: sameOrigin ? credentials : {} })).body;
  }
}

/** The `download_url` of a content API answer; a directory (an array) or a file without one is a failed fetch. */
function downloadUrlOf(body: Buffer, metadataUrl: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const url = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as { download_url?: unknown }).download_url : undefined;
  if (typeof url !== 'string' || url === '') {
    const what = Array.isArray(parsed) ? 'a directory, not a file' : 'no download_url (is the reference a file, and may the account read it?)';
    throw new ScaleAgentError(Errors.ARTIFACT_FETCH_FAILED, `the GitHub content metadata of ${shownUrl(new URL(metadataUrl))} names ${what}`, {});
  }
  return url;
}
