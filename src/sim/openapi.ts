import { componentSchemas } from './openapi-schemas.ts';
import type { ResourceRegistry } from './resource-registry.ts';
import { apiVersionOf, type ResourceType } from './resource-type.ts';

/**
 * The OpenAPI v3 surface: the /openapi/v3 index and one document per group/version holding, for each
 * kind, the PATCH operation tagged with its group/version/kind, the patch types it accepts and the
 * `fieldValidation` parameter (what kubectl looks for to decide that the server validates fields
 * itself, so `kubectl apply` works without --validate=false), and the kinds' schemas with their patch
 * metadata (openapi-schemas.ts), from which kubectl and the agent compute strategic merge patches.
 * Without schemas (SimOptions.openApiSchemas false) they fall back to their compiled-in types.
 */

/** What a PATCH accepts: custom resources take no strategic merge patch, as on a real server. */
const BUILTIN_PATCH_TYPES = [
  'application/apply-patch+yaml',
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
];
const CUSTOM_PATCH_TYPES = ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json'];

function groupVersionPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

export function openApiIndex(registry: ResourceRegistry): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const [group, versions] of registry.groups()) {
    for (const version of versions) {
      const path = groupVersionPath(group, version);
      paths[path] = { serverRelativeURL: `/openapi/v3/${path}` };
    }
  }
  return { paths };
}

function objectPath(type: ResourceType): string {
  const base = `/${groupVersionPath(type.group, type.version)}`;
  return type.namespaced ? `${base}/namespaces/{namespace}/${type.plural}/{name}` : `${base}/${type.plural}/{name}`;
}

export function openApiGroupVersion(registry: ResourceRegistry, group: string, version: string, withSchemas: boolean): Record<string, unknown> | undefined {
  const types = registry.resourcesIn(group, version);
  if (types.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  for (const type of types) {
    paths[objectPath(type)] = {
      patch: {
        operationId: `patch${type.namespaced ? 'Namespaced' : ''}${type.kind}`,
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': { group: type.group, version: type.version, kind: type.kind },
        parameters: [
          { name: 'dryRun', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'force', in: 'query', schema: { type: 'boolean', uniqueItems: true } },
        ],
        requestBody: { content: Object.fromEntries((type.custom ? CUSTOM_PATCH_TYPES : BUILTIN_PATCH_TYPES).map((t) => [t, { schema: { type: 'object' } }])) },
        responses: { '200': { description: 'OK' } },
      },
    };
  }
  const document: Record<string, unknown> = {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.31.0' },
    paths,
    'x-scale-agent-sim': apiVersionOf({ group, version }),
  };
  if (withSchemas) document.components = { schemas: componentSchemas(types.filter((t) => !t.custom)) };
  return document;
}
