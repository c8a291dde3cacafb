import type { FastifyInstance } from 'fastify';
import { requestInvalid } from '../http-errors.ts';
import { SEARCH_PLATFORM, search, type SearchResultSet } from '../responses/search-view.ts';
import type { RouteContext } from './route-context.ts';

const DEFAULT_PAGE_SIZE = 10_000;
const DEFAULT_PAGE = 1;
/** Clouddriver's SearchController answers a merged set named "aws" when no provider matched the platform. */
const NO_PROVIDER_PLATFORM = 'aws';

type SearchQuery = Record<string, string | string[] | undefined>;

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[value.length - 1] : value;
}

/** Spring's int request parameter: absent → the default; not an integer, or below `min` → 400. */
function intParam(query: SearchQuery, name: string, fallback: number, min: number): number {
  const raw = single(query[name]);
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) throw requestInvalid(`${name} must be an integer of at least ${min}, got "${raw}"`, { [name]: raw });
  return n;
}

/**
 * GET /search?q=&type=&platform=&pageSize=&page= (Clouddriver's SearchController with the Kubernetes
 * provider only). `type` is required and may repeat or hold a comma-separated list; other parameters are
 * filters, which the Kubernetes provider ignores.
 */
export function searchRoutes(app: FastifyInstance, { store }: RouteContext): void {
  app.get('/search', async (request): Promise<SearchResultSet[]> => {
    const query = request.query as SearchQuery;
    const rawTypes = query.type;
    if (rawTypes === undefined) throw requestInvalid("Required request parameter 'type' is not present", { parameter: 'type' });
    const types = (Array.isArray(rawTypes) ? rawTypes : [rawTypes]).flatMap((t) => t.split(','));
    const q = single(query.q) ?? '';
    const pageSize = intParam(query, 'pageSize', DEFAULT_PAGE_SIZE, 1);
    const pageNumber = intParam(query, 'page', DEFAULT_PAGE, 1);
    const platform = single(query.platform);
    if (platform !== undefined && platform !== '' && platform !== SEARCH_PLATFORM) {
      return [{ totalMatches: 0, pageNumber, pageSize, platform: NO_PROVIDER_PLATFORM, query: q, results: [] }];
    }
    return [await search(store, { query: q, types, pageNumber, pageSize })];
  });
}
