import type { Artifact, ArtifactCredentials } from './artifact.ts';
import { requiredReference } from './artifact.ts';
import type { SecretSource } from './artifact-secrets.ts';
import type { BoundedHttpClient } from './bounded-http.ts';
import type { CredentialOrigins } from './credential-origins.ts';
import { withRef } from './git-ref.ts';

/**
 * `gitlab/file`: the reference is GitLab's raw file URL
 * (`https://gitlab.example.com/api/v4/projects/{id}/repository/files/{path}/raw`), the version the ref
 * it is read at (`?ref=`, `master` when absent, as in Clouddriver); the token goes in `Private-Token`,
 * only to the account's origins (`origins`; https://gitlab.com by default with a token).
 */
export class GitlabArtifactCredentials implements ArtifactCredentials {
  readonly credentialsType = 'artifacts-gitlab';
  readonly types = ['gitlab/file'] as const;

  constructor(
    readonly name: string,
    private readonly client: BoundedHttpClient,
    private readonly token: SecretSource | undefined,
    private readonly origins: CredentialOrigins,
  ) {}

  handles(type: string): boolean {
    return type === 'gitlab/file';
  }

  async download(artifact: Artifact): Promise<Buffer> {
    const url = withRef(requiredReference(artifact), artifact.version);
    this.origins.check(url);
    const credentials: Record<string, string> = this.token === undefined ? {} : { 'private-token': this.token.value() };
    return (await this.client.get({ url, credentials })).body;
  }
}
