import { Errors, ScaleAgentError } from '../../common/errors.ts';
import type { Artifact, ArtifactCredentials } from './artifact.ts';
import { requestInvalid } from './artifact.ts';
import type { SecretSource } from './artifact-secrets.ts';
import type { BoundedHttpClient } from './bounded-http.ts';
import { compareVersions, parseHelmIndex, type HelmIndex } from './helm-index.ts';

export interface HelmIndexOptions {
  /** Largest index.yaml read (artifacts.helm.indexMaxBytes). */
  maxBytes: number;
  /** How long a parsed index is reused (artifacts.helm.indexCacheMs); 0: not kept. */
  cacheMs: number;
  /** Deadline of one parse (artifacts.timeoutMs). */
  parseTimeoutMs: number;
  /** The clock of the cache (tests). */
  now?: () => number;
}

/**
 * `helm/chart` and `helm/index`, as Clouddriver's HelmArtifactCredentials serves them: the repository's
 * `index.yaml` lists the charts (names), their versions, and the URLs of each version's archive. A fetch
 * of `helm/chart` answers the archive (.tgz) of `name` at `version` (the highest version when absent);
 * `helm/index` answers the index itself.
 *
 * Clouddriver reads and parses the index for every request. Here the parsed index (names, versions,
 * URLs) is kept for `indexCacheMs` and loaded once for all the requests that want it at the same time:
 * Deck asks for names, then versions, then Orca fetches, and the same index in a minute is not worth
 * another download and parse of up to `indexMaxBytes`. A failed load is not kept.
 *
 * Basic authentication goes to the repository's origin only: a chart URL on another host (a CDN,
 * GitHub releases) is fetched without it.
 */
export class HelmArtifactCredentials implements ArtifactCredentials {
  readonly credentialsType = 'artifacts-helm';
  readonly types = ['helm/chart', 'helm/index'] as const;
  private readonly base: string;
  private cached: { index: HelmIndex; until: number } | undefined;
  private loading: Promise<HelmIndex> | undefined;

  constructor(
    readonly name: string,
    private readonly repository: string,
    private readonly client: BoundedHttpClient,
    private readonly basicAuth: SecretSource | undefined,
    private readonly indexOptions: HelmIndexOptions,
  ) {
    this.base = repository.endsWith('/') ? repository : `${repository}/`;
  }

  handles(type: string): boolean {
    return (this.types as readonly string[]).includes(type);
  }

  async names(): Promise<string[]> {
    return [...(await this.index()).keys()];
  }

  async versions(artifactName: string): Promise<string[]> {
    return this.entries(await this.index(), artifactName).map((e) => e.version);
  }

  async download(artifact: Artifact): Promise<Buffer> {
    if (artifact.type === 'helm/index') return this.indexBytes();
    if (artifact.name === undefined || artifact.name === '') throw requestInvalid('name', 'is required for helm/chart artifacts (the chart name)');
    const entries = this.entries(await this.index(), artifact.name);
    const version =
      artifact.version === undefined || artifact.version.trim() === ''
        ? entries.map((e) => e.version).reduce((a, b) => (compareVersions(a, b) >= 0 ? a : b))
        : artifact.version;
    const urls = entries.filter((e) => e.version === version).flatMap((e) => e.urls);
    if (urls.length === 0) {
      throw new ScaleAgentError(Errors.ARTIFACT_NOT_FOUND, `chart ${artifact.name} has no version ${version} in ${this.indexUrl()}`, {
        chart: artifact.name,
        version,
      });
    }
    const chartUrl = urls.map((u) => this.resolve(u)).find((u) => u !== undefined);
    if (chartUrl === undefined) {
      throw new ScaleAgentError(Errors.ARTIFACT_FETCH_FAILED, `chart ${artifact.name} ${version}: no valid http(s) URL in ${this.indexUrl()}`, {});
    }
    const sameOrigin = new URL(chartUrl).origin === new URL(this.base).origin;
    return (await this.client.get({ url: chartUrl, credentials: sameOrigin ? this.credentials() : {} })).body;
  }

  private indexUrl(): string {
    return `${this.base}index.yaml`;
  }

  private credentials(): Record<string, string> {
    return this.basicAuth === undefined ? {} : { authorization: this.basicAuth.value() };
  }

  private async indexBytes(): Promise<Buffer> {
    const maxBytes = { limit: this.indexOptions.maxBytes, key: 'artifacts.helm.indexMaxBytes' };
    return (await this.client.get({ url: this.indexUrl(), credentials: this.credentials(), maxBytes })).body;
  }

  /** The parsed index: the cached one while fresh, else the load under way, else a new load. */
  private index(): Promise<HelmIndex> {
    const now = this.indexOptions.now ?? Date.now;
    if (this.cached !== undefined && now() < this.cached.until) return Promise.resolve(this.cached.index);
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async load(): Promise<HelmIndex> {
    const index = await parseHelmIndex(await this.indexBytes(), this.repository, this.indexOptions.parseTimeoutMs);
    const now = this.indexOptions.now ?? Date.now;
    this.cached = this.indexOptions.cacheMs > 0 ? { index, until: now() + this.indexOptions.cacheMs } : undefined;
    return index;
  }

  private entries(index: HelmIndex, chart: string): Array<{ version: string; urls: string[] }> {
    const entries = index.get(chart);
    if (entries === undefined || entries.length === 0) {
      throw new ScaleAgentError(Errors.ARTIFACT_NOT_FOUND, `chart ${chart} is not in ${this.indexUrl()}`, { chart });
    }
    return entries;
  }

  /** A chart URL of the index, absolute (relative ones against the repository), or undefined when it is not http(s). */
  private resolve(url: string): string | undefined {
    try {
      const resolved = new URL(url, this.base);
      return resolved.protocol === 'http:' || resolved.protocol === 'https:' ? resolved.href : undefined;
    } catch {
      return undefined;
    }
  }
}
