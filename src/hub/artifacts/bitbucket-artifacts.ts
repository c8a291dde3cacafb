import type { Artifact, ArtifactCredentials } from './artifact.ts';
import { requiredReference } from './artifact.ts';
import type { SecretSource } from './artifact-secrets.ts';
import type { BoundedHttpClient } from './bounded-http.ts';
import type { CredentialOrigins } from './credential-origins.ts';

/**
 * `bitbucket/file`: the reference is the file's raw URL, fetched as it is (Bitbucket Cloud's
 * `https://api.bitbucket.org/2.0/repositories/{workspace}/{repo}/src/{commit}/{path}`, Bitbucket
 * Server's `…/rest/api/1.0/projects/{key}/repos/{repo}/raw/{path}?at={ref}`). With a token, Clouddriver
 * sends `Authorization: Bearer <token>` and `Accept: application/json`; otherwise basic authentication.
 * Credentials go only to the account's origins (`origins`; https://api.bitbucket.org, Bitbucket Cloud,
 * by default: a Bitbucket Server account with credentials must set its own).
 */
export class BitbucketArtifactCredentials implements ArtifactCredentials {
  readonly credentialsType = 'artifacts-bitbucket';
  readonly types = ['bitbucket/file'] as const;

  constructor(
    readonly name: string,
    private readonly client: BoundedHttpClient,
    private readonly token: SecretSource | undefined,
    private readonly basicAuth: SecretSource | undefined,
    private readonly origins: CredentialOrigins,
  ) {}

  handles(type: string): boolean {
    return type === 'bitbucket/file';
  }

  async download(artifact: Artifact): Promise<Buffer> {
    const url = requiredReference(artifact);
    this.origins.check(url);
    if (this.token !== undefined) {
      return (await this.client.get({ url, headers: { accept: 'application/json' }, credentials: { authorization: `Bearer ${this.token.value()}` } })).body;
    }
    const credentials: Record<string, string> = this.basicAuth === undefined ? {} : { authorization: this.basicAuth.value() };
    return (await this.client.get({ url, credentials })).body;
  }
}
