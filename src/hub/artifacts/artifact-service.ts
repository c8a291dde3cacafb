import { Errors, ScaleAgentError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { parseArtifact } from './artifact.ts';
import { ArtifactAccounts, buildArtifactAccounts } from './artifact-accounts.ts';
import { artifactsConfigSchema, type ArtifactsConfig } from './artifact-config.ts';
import { AddressPolicy } from './address-policy.ts';
import { BoundedHttpClient, type Resolver } from './bounded-http.ts';
import { FetchSlots } from './fetch-slots.ts';

/** One entry of GET /artifacts/credentials: Clouddriver's serialised ArtifactCredentials. */
export interface ArtifactAccountView {
  name: string;
  types: string[];
  /** Clouddriver's credentials type (`artifacts-github`, …). */
  type: string;
}

export interface ArtifactServiceOptions {
  logger?: Logger;
  /** Where the accounts' tokenEnv and passwordEnv are read (tests). */
  env?: NodeJS.ProcessEnv;
  /** Host name resolution (tests: a name that resolves to a refused address). */
  resolver?: Resolver;
}

/**
 * What the REST API asks of artifacts (src/hub/api/routes/artifact-routes.ts): the accounts, a fetch,
 * and the names and versions an account offers. Built once at start from the `artifacts` section.
 */
export class ArtifactService {
  private readonly accounts: ArtifactAccounts;
  private readonly logger: Logger | undefined;

  constructor(
    readonly config: ArtifactsConfig = artifactsConfigSchema.parse(undefined),
    options: ArtifactServiceOptions = {},
  ) {
    const policy = new AddressPolicy(config.network);
    const client = new BoundedHttpClient(
      { maxBytes: config.maxBytes, timeoutMs: config.timeoutMs, connectTimeoutMs: config.connectTimeoutMs, maxRedirects: config.maxRedirects },
      policy,
      options.resolver,
      new FetchSlots({ maxConcurrent: config.maxConcurrentFetches, maxQueued: config.maxQueuedFetches }),
    );
    this.accounts = buildArtifactAccounts(config, client, options.env);
    this.logger = options.logger;
  }

  credentials(): ArtifactAccountView[] {
    return this.accounts.all().map((a) => ({ name: a.name, types: [...a.types], type: a.credentialsType }));
  }

  /** The bytes of the artifact a PUT /artifacts/fetch/ body describes. */
  async fetch(body: unknown): Promise<Buffer> {
    const artifact = parseArtifact(body);
    const account = this.accounts.find(artifact.artifactAccount, artifact.type);
    const startedAt = Date.now();
    try {
      const bytes = await account.download(artifact);
      this.logger?.debug({ account: account.name, type: artifact.type, bytes: bytes.length, ms: Date.now() - startedAt }, 'artifact fetched');
      return bytes;
    } catch (err) {
      this.logger?.info(
        { account: account.name, type: artifact.type, err: (err as Error).message, code: (err as ScaleAgentError).code },
        'artifact fetch failed',
      );
      throw err;
    }
  }

  async names(accountName: string, type: string): Promise<string[]> {
    const account = this.accounts.find(accountName, type);
    if (account.names === undefined) throw notSupported('names', account.name);
    return account.names();
  }

  async versions(accountName: string, type: string, artifactName: string): Promise<string[]> {
    const account = this.accounts.find(accountName, type);
    if (account.versions === undefined) throw notSupported('versions', account.name);
    return account.versions(artifactName);
  }
}

/** Clouddriver's NotImplementedException, in its words. */
function notSupported(what: string, account: string): ScaleAgentError {
  return new ScaleAgentError(Errors.ARTIFACT_TYPE_UNSUPPORTED, `Artifact ${what} are not supported for artifact types that '${account}' account handles`, {
    account,
  });
}
