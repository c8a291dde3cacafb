/**
 * A cluster's OpenAPI v3 documents, fetched when a client-side apply needs them and cached: the
 * `/openapi/v3` index names one document per group version with a content hash in its URL, so a cached
 * document stays valid until the index names another URL. Documents are kept pruned to their patch
 * metadata (kube/apply/openapi-patch-schema.ts).
 *
 * A cluster that serves no OpenAPI v3 (before Kubernetes 1.24, or turned off) or whose document fails
 * to load gives undefined: the caller falls back to the built-in types, as kubectl does.
 */
import type { Logger } from '../common/logger.ts';
import { errorMessage, ScaleAgentError } from '../common/errors.ts';
import { pruneOpenApiDocument, type OpenApiDocument } from './apply/openapi-patch-schema.ts';
import type { KubeRequest } from './client.ts';

/** How long the index is trusted before it is fetched again (a cluster upgrade changes the hashes). */
export const OPENAPI_INDEX_TTL_MS = 5 * 60_000;
/** A group version missing from the index (just added by a CRD) refetches it, at most this often. */
export const OPENAPI_INDEX_MIN_REFRESH_MS = 10_000;
/** After a failed fetch, the built-in types are used for this long before the cluster is asked again. */
export const OPENAPI_RETRY_AFTER_FAILURE_MS = 60_000;

const INDEX_PATH = '/openapi/v3';

/** The one client call this makes. */
export interface OpenApiClient {
  json<T>(req: KubeRequest): Promise<T>;
}

interface IndexEntry {
  /** Group version path (`api/v1`, `apis/apps/v1`) → document URL; undefined when the cluster serves no OpenAPI v3. */
  readonly urls: ReadonlyMap<string, string> | undefined;
  readonly fetchedAt: number;
}

function groupVersionPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

function isNotFound(err: unknown): boolean {
  return err instanceof ScaleAgentError && err.details.status === 404;
}

export class OpenApiV3Documents {
  private index: IndexEntry | undefined;
  private indexLoad: Promise<IndexEntry> | undefined;
  private readonly documents = new Map<string, Promise<OpenApiDocument | undefined>>();
  private failedAt: number | undefined;

  constructor(
    private readonly client: OpenApiClient,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** The pruned document of a group version, or undefined when the cluster has none for it (or it failed to load). */
  async forGroupVersion(group: string, version: string): Promise<OpenApiDocument | undefined> {
    if (this.failedAt !== undefined && this.now() - this.failedAt < OPENAPI_RETRY_AFTER_FAILURE_MS) return undefined;
    const path = groupVersionPath(group, version);
    try {
      let index = await this.currentIndex();
      if (index.urls !== undefined && !index.urls.has(path) && this.now() - index.fetchedAt >= OPENAPI_INDEX_MIN_REFRESH_MS) index = await this.refreshIndex();
      const url = index.urls?.get(path);
      return url === undefined ? undefined : await this.document(url);
    } catch (err) {
      this.failedAt = this.now();
      this.logger.warn(
        { err: errorMessage(err), groupVersion: path },
        "cannot load the cluster's OpenAPI v3; client-side apply uses the built-in patch metadata for now",
      );
      return undefined;
    }
  }

  private async currentIndex(): Promise<IndexEntry> {
    if (this.index !== undefined && this.now() - this.index.fetchedAt < OPENAPI_INDEX_TTL_MS) return this.index;
    return this.refreshIndex();
  }

  /** Fetches are shared by concurrent operations, so they carry no one operation's signal; the client's request timeout bounds them. */
  private refreshIndex(): Promise<IndexEntry> {
    this.indexLoad ??= this.loadIndex().finally(() => {
      this.indexLoad = undefined;
    });
    return this.indexLoad;
  }

  private async loadIndex(): Promise<IndexEntry> {
    let urls: Map<string, string> | undefined;
    try {
      const body = await this.client.json<{ paths?: Record<string, { serverRelativeURL?: string }> }>({ path: INDEX_PATH });
      urls = new Map();
      for (const [path, entry] of Object.entries(body?.paths ?? {})) if (typeof entry?.serverRelativeURL === 'string') urls.set(path, entry.serverRelativeURL);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      urls = undefined;
    }
    // Documents the new index no longer names are stale (their hash changed) or gone.
    const named = new Set(urls?.values() ?? []);
    for (const url of this.documents.keys()) if (!named.has(url)) this.documents.delete(url);
    this.index = { urls, fetchedAt: this.now() };
    this.failedAt = undefined;
    return this.index;
  }

  private document(url: string): Promise<OpenApiDocument | undefined> {
    let loading = this.documents.get(url);
    if (loading === undefined) {
      const [path, query] = url.split('?', 2) as [string, string | undefined];
      const params = Object.fromEntries(new URLSearchParams(query ?? ''));
      loading = this.client.json<unknown>({ path, query: params }).then(pruneOpenApiDocument);
      loading.catch(() => this.documents.delete(url));
      this.documents.set(url, loading);
    }
    return loading;
  }
}
