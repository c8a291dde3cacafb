import type { DeleteOptions, PatchType, PropagationPolicy } from './cluster-api.ts';
import { parseFieldSelector } from './field-selector.ts';
import { parseLabelSelector } from './label-selector.ts';
import type { ObjectFilter } from './object-filter.ts';
import { isPlainObject } from './patch/merge-patch.ts';
import { supportedFields, type ResourceType } from './resource-type.ts';
import { badRequest, StatusError } from './status.ts';

/** Query parameters and bodies of the API's verbs, parsed and checked (bad input is a 400). */

export function intParam(query: URLSearchParams, name: string): number | undefined {
  const value = query.get(name);
  if (value === null || value === '') return undefined;
  if (!/^-?\d+$/.test(value)) throw badRequest(`invalid value for ${name}: "${value}" is not an integer`);
  return Number(value);
}

export function boolParam(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  return value === 'true' || value === '1';
}

export function filterFrom(type: ResourceType, namespace: string | undefined, query: URLSearchParams): ObjectFilter {
  return {
    namespace,
    labels: parseLabelSelector(query.get('labelSelector')),
    fields: parseFieldSelector(query.get('fieldSelector'), supportedFields(type)),
  };
}

const POLICIES = new Set<PropagationPolicy>(['Orphan', 'Background', 'Foreground']);

/** DeleteOptions from the body (if any) and the query, the query winning as in the real server. */
export function deleteOptionsFrom(body: unknown, query: URLSearchParams): DeleteOptions {
  if (body !== undefined && !isPlainObject(body)) throw badRequest('DeleteOptions must be an object');
  const b = (body ?? {}) as Record<string, unknown>;
  const options: DeleteOptions = {};
  const policy = query.get('propagationPolicy') ?? (b.propagationPolicy as string | undefined) ?? (b.orphanDependents === true ? 'Orphan' : undefined);
  if (policy !== undefined && policy !== null) {
    if (!POLICIES.has(policy as PropagationPolicy)) {
      throw new StatusError(
        422,
        'Invalid',
        `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan", "nil"`,
      );
    }
    options.propagationPolicy = policy as PropagationPolicy;
  }
  const grace = intParam(query, 'gracePeriodSeconds') ?? (typeof b.gracePeriodSeconds === 'number' ? b.gracePeriodSeconds : undefined);
  if (grace !== undefined) options.gracePeriodSeconds = Math.max(0, grace);
  if (isPlainObject(b.preconditions)) options.preconditions = b.preconditions as DeleteOptions['preconditions'] & object;
  if (isDryRun(query) || (Array.isArray(b.dryRun) && b.dryRun.includes('All'))) options.dryRun = true;
  return options;
}

export function isDryRun(query: URLSearchParams): boolean {
  return query.getAll('dryRun').includes('All');
}

const PATCH_TYPES: Record<string, PatchType> = {
  'application/merge-patch+json': 'merge',
  'application/json-patch+json': 'json',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

export function patchTypeOf(contentType: string | undefined): PatchType {
  const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const patchType = PATCH_TYPES[mediaType];
  if (patchType === undefined) {
    throw new StatusError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${Object.keys(PATCH_TYPES).join(', ')}`,
    );
  }
  return patchType;
}
