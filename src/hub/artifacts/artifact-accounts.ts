import { Errors, ScaleAgentError } from '../../common/errors.ts';
import type { ArtifactCredentials } from './artifact.ts';
import { DEFAULT_CREDENTIAL_ORIGINS, type ArtifactsConfig } from './artifact-config.ts';
import { basicAuthSource, tokenSource } from './artifact-secrets.ts';
import { BitbucketArtifactCredentials } from './bitbucket-artifacts.ts';
import type { BoundedHttpClient } from './bounded-http.ts';
import { CredentialOrigins } from './credential-origins.ts';
import { CustomArtifactCredentials } from './custom-artifacts.ts';
import { EmbeddedArtifactCredentials } from './embedded-artifacts.ts';
import { GithubArtifactCredentials } from './github-artifacts.ts';
import { GitlabArtifactCredentials } from './gitlab-artifacts.ts';
import { GitRepoArtifactCredentials, gitAuthorization, gitFetchSlots } from './git-repo-artifacts.ts';
import { HelmArtifactCredentials } from './helm-artifacts.ts';
import { HttpArtifactCredentials, NO_AUTH_HTTP_ACCOUNT } from './http-artifacts.ts';

/** Types Clouddriver fetches that the hub does not, with why, for a refusal clearer than "no such account". */
const NOT_FETCHED: Readonly<Record<string, string>> = {
  's3/object': 'the hub does not fetch s3/object artifacts; fetch them through Clouddriver',
  'gcs/object': 'the hub does not fetch gcs/object artifacts; fetch them through Clouddriver',
  'oracle/object': 'the hub does not fetch oracle/object artifacts; fetch them through Clouddriver',
  'ivy/file': 'the hub does not fetch ivy/file artifacts; fetch them through Clouddriver',
  'maven/file': 'the hub does not fetch maven/file artifacts; fetch them through Clouddriver',
  'jenkins/file': 'the hub does not fetch jenkins/file artifacts; fetch them through Clouddriver',
  'docker/image': 'docker/image artifacts are not fetched (their reference is the image, bound into manifests as it is)',
  'front50/pipelineTemplate': 'the hub does not fetch front50/pipelineTemplate artifacts; fetch them through Clouddriver',
};

/**
 * The artifact accounts: Clouddriver's ArtifactCredentialsRepository. Accounts are found by name and
 * artifact type together, so one name may serve several providers (a `github` and a `gitlab` account
 * both called `scm`), as in Clouddriver.
 */
export class ArtifactAccounts {
  constructor(private readonly accounts: readonly ArtifactCredentials[]) {}

  all(): readonly ArtifactCredentials[] {
    return this.accounts;
  }

  /**
   * The account `name` that handles `type`, else ARTIFACT_ACCOUNT_NOT_FOUND (404, as Clouddriver answers
   * whatever the type); a type Clouddriver fetches and the hub does not (s3/object, gcs/object, …) is
   * ARTIFACT_TYPE_UNSUPPORTED instead, saying so.
   */
  find(name: string, type: string): ArtifactCredentials {
    const account = this.accounts.find((a) => a.name === name && a.handles(type));
    if (account !== undefined) return account;
    const why = NOT_FETCHED[type];
    if (why !== undefined) throw new ScaleAgentError(Errors.ARTIFACT_TYPE_UNSUPPORTED, why, { type });
    const serving = this.accounts.filter((a) => a.handles(type)).map((a) => a.name);
    const known = serving.length === 0 ? `no account handles ${type}` : `accounts that handle ${type}: ${serving.join(', ')}`;
    // Clouddriver's words (MissingCredentialsException), then what would work.
    throw new ScaleAgentError(Errors.ARTIFACT_ACCOUNT_NOT_FOUND, `Credentials '${name}' supporting artifact type '${type}' cannot be found (${known})`, {
      account: name,
      type,
    });
  }
}

/**
 * The accounts of the `artifacts` section, then Clouddriver's built-in `embedded-artifact` and
 * `custom-artifact`. Secrets are read now: an unreadable file or unset variable stops the hub with
 * CONFIG_INVALID naming the key.
 */
export function buildArtifactAccounts(config: ArtifactsConfig, client: BoundedHttpClient, env: NodeJS.ProcessEnv = process.env): ArtifactAccounts {
  const accounts: ArtifactCredentials[] = [];
  const at = (provider: string, i: number) => `artifacts.${provider}.accounts[${i}]`;
  const origins = (provider: string, i: number, a: { name: string; origins?: string[] | undefined }, credentials: boolean, fallback?: string) =>
    CredentialOrigins.of(a.name, `${at(provider, i)}.origins`, a.origins, credentials, fallback);
  if (config.github.enabled) {
    config.github.accounts.forEach((a, i) => {
      const token = tokenSource(a, at('github', i), env);
      const authorization = token === undefined ? basicAuthSource(a, at('github', i), env) : { value: () => `token ${token.value()}` };
      accounts.push(
        new GithubArtifactCredentials(a.name, client, authorization, origins('github', i, a, authorization !== undefined, DEFAULT_CREDENTIAL_ORIGINS.github), {
          useContentAPI: a.useContentAPI,
          githubAPIVersion: a.githubAPIVersion,
        }),
      );
    });
  }
  if (config.gitlab.enabled) {
    config.gitlab.accounts.forEach((a, i) => {
      const token = tokenSource(a, at('gitlab', i), env);
      accounts.push(new GitlabArtifactCredentials(a.name, client, token, origins('gitlab', i, a, token !== undefined, DEFAULT_CREDENTIAL_ORIGINS.gitlab)));
    });
  }
  if (config.bitbucket.enabled) {
    config.bitbucket.accounts.forEach((a, i) => {
      const token = tokenSource(a, at('bitbucket', i), env);
      const basic = basicAuthSource(a, at('bitbucket', i), env);
      const scope = origins('bitbucket', i, a, token !== undefined || basic !== undefined, DEFAULT_CREDENTIAL_ORIGINS.bitbucket);
      accounts.push(new BitbucketArtifactCredentials(a.name, client, token, basic, scope));
    });
  }
  if (config.http.enabled) {
    const http = config.http.accounts.map((a, i) => {
      const basic = basicAuthSource(a, at('http', i), env);
      return new HttpArtifactCredentials(a.name, client, basic, origins('http', i, a, basic !== undefined));
    });
    accounts.push(...http);
    // Clouddriver adds an anonymous account when none of the configured ones authenticates.
    if (!config.http.accounts.some((a) => a.username !== undefined || a.usernamePasswordFile !== undefined)) {
      accounts.push(
        new HttpArtifactCredentials(NO_AUTH_HTTP_ACCOUNT, client, undefined, CredentialOrigins.of(NO_AUTH_HTTP_ACCOUNT, 'artifacts.http', undefined, false)),
      );
    }
  }
  if (config.helm.enabled) {
    const index = { maxBytes: config.helm.indexMaxBytes, cacheMs: config.helm.indexCacheMs, parseTimeoutMs: config.timeoutMs };
    config.helm.accounts.forEach((a, i) =>
      accounts.push(new HelmArtifactCredentials(a.name, a.repository, client, basicAuthSource(a, at('helm', i), env), index)),
    );
  }
  if (config.gitRepo.enabled) {
    const limits = { maxBytes: config.maxBytes, timeoutMs: config.timeoutMs };
    // Slots of their own: a git fetch's requests each take one of the client's, so sharing those would deadlock.
    const slots = gitFetchSlots();
    config.gitRepo.accounts.forEach((a, i) => {
      const authorization = gitAuthorization(a, at('gitRepo', i), env);
      accounts.push(new GitRepoArtifactCredentials(a.name, client, authorization, origins('gitRepo', i, a, authorization !== undefined), limits, slots));
    });
  }
  accounts.push(new EmbeddedArtifactCredentials(config.maxBytes), new CustomArtifactCredentials());
  return new ArtifactAccounts(accounts);
}
