import type { Artifact, ArtifactCredentials } from './artifact.ts';
import { requiredReference } from './artifact.ts';
import type { SecretSource } from './artifact-secrets.ts';
import type { BoundedHttpClient } from './bounded-http.ts';
import type { CredentialOrigins } from './credential-origins.ts';

/** Clouddriver's account for `http/file` when no configured http account authenticates. */
export const NO_AUTH_HTTP_ACCOUNT = 'no-auth-http-account';

/**
 * `http/file`: the reference is the URL, fetched with the account's basic authentication, if any; an
 * account with credentials fetches only from its `origins` (required then), one without anywhere the
 * network rules allow (unless it sets `origins` too).
 */
export class HttpArtifactCredentials implements ArtifactCredentials {
  readonly credentialsType = 'artifacts-http';
  readonly types = ['http/file'] as const;

  constructor(
    readonly name: string,
    private readonly client: BoundedHttpClient,
    private readonly basicAuth: SecretSource | undefined,
    private readonly origins: CredentialOrigins,
  ) {}

  handles(type: string): boolean {
    return type === 'http/file';
  }

  async download(artifact: Artifact): Promise<Buffer> {
    const url = requiredReference(artifact);
    this.origins.check(url);
    const credentials: Record<string, string> = this.basicAuth === undefined ? {} : { authorization: this.basicAuth.value() };
    return (await this.client.get({ url, credentials })).body;
  }
}
