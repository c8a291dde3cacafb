import { badRequest } from './status.ts';

/**
 * A cluster API path taken apart: `/api/v1/...` or `/apis/<group>/<version>/...`, then
 * `[namespaces/<ns>/]<resource>[/<name>[/<subresource>]]`. Namespaces' own subresources
 * (`/api/v1/namespaces/<name>/status|finalize`) are told apart from namespaced collections here.
 */
export interface ResourcePath {
  group: string;
  version: string;
  /** undefined for cluster-wide requests (cluster-scoped kinds, or all namespaces). */
  namespace: string | undefined;
  resource: string;
  name?: string;
  subresource?: string;
}

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

export function splitPath(path: string): string[] {
  try {
    return path
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  } catch {
    throw badRequest(`malformed path: ${path}`);
  }
}

/** Returns undefined when the segments do not name a resource (discovery paths, unknown shapes). */
export function parseResourcePath(segments: string[]): ResourcePath | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  if (segments[0] === 'api' && segments.length >= 3) {
    group = '';
    version = segments[1]!;
    rest = segments.slice(2);
  } else if (segments[0] === 'apis' && segments.length >= 4) {
    group = segments[1]!;
    version = segments[2]!;
    rest = segments.slice(3);
  } else return undefined;

  if (rest[0] === 'namespaces' && rest.length >= 3 && !(rest.length === 3 && group === '' && NAMESPACE_SUBRESOURCES.has(rest[2]!))) {
    const [, namespace, resource, name, subresource, ...extra] = rest;
    if (extra.length > 0) return undefined;
    return { group, version, namespace, resource: resource!, ...(name !== undefined ? { name } : {}), ...(subresource !== undefined ? { subresource } : {}) };
  }
  const [resource, name, subresource, ...extra] = rest;
  if (extra.length > 0) return undefined;
  return {
    group,
    version,
    namespace: undefined,
    resource: resource!,
    ...(name !== undefined ? { name } : {}),
    ...(subresource !== undefined ? { subresource } : {}),
  };
}
