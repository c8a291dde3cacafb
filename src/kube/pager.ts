import type { KubeObject } from '../common/kube-object.ts';
import type { QueryValue } from './client.ts';

/** A list response, parsed once per page; items lack kind/apiVersion in typed lists. */
export interface KubeList {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items?: (KubeObject | undefined)[];
}

export interface ListPagesOptions {
  pageSize: number;
  query?: Record<string, QueryValue>;
  /** Parameters of the first request only (resourceVersion, resourceVersionMatch: the API server refuses them beside a continue token). */
  firstPageQuery?: Record<string, QueryValue>;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Reads each page from its bytes instead of JSON.parse (slim-list.ts), if the client can hand them over. */
  decode?: PageDecoder;
}

/** A page's body: its chunks, valid only until the decoder returns, and their total size (KubeClient.decodeJson). */
export type PageDecoder = (chunks: readonly Buffer[], bytes: number) => KubeList | undefined;

type PageRequest = { path: string; query?: Record<string, QueryValue>; signal?: AbortSignal; timeoutMs?: number };

/** The client method a pager needs, and the one it uses with a page decoder when the client has it. */
export interface PageFetcher {
  json<T>(req: PageRequest): Promise<T>;
  decodeJson?<T>(req: PageRequest, decode: (chunks: readonly Buffer[], bytes: number) => T): Promise<T>;
}

/**
 * Pages through a collection with `limit`/`continue`. The first page is read with resourceVersion unset
 * (a consistent read from etcd) unless `firstPageQuery` names one, later pages by continue token, so
 * every page is at one resourceVersion.
 * An expired token (410) surfaces as a KUBE_API_ERROR from the iteration.
 */
export async function* listPages(client: PageFetcher, path: string, options: ListPagesOptions): AsyncGenerator<KubeList> {
  let token: string | undefined;
  do {
    const query: Record<string, QueryValue> = { ...options.query, limit: options.pageSize };
    if (token !== undefined) query.continue = token;
    else Object.assign(query, options.firstPageQuery);
    const request: PageRequest = {
      path,
      query,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    };
    const page =
      options.decode !== undefined && client.decodeJson !== undefined ? await client.decodeJson(request, options.decode) : await client.json<KubeList>(request);
    token = page?.metadata?.continue || undefined;
    yield page ?? {};
  } while (token !== undefined);
}
