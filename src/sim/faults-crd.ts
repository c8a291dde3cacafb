import type { KubeObject } from '../common/kube-object.ts';
import type { DeleteResult } from './cluster-api.ts';
import { crdFrom, type CrdRequest } from './faults-input.ts';
import type { SimCluster } from './sim-cluster.ts';

/**
 * The admin API's CRD shortcut: builds a complete CustomResourceDefinition from a group, a kind and a few
 * optional names, and writes it through the cluster's normal API, so the result is exactly what a POST to
 * /apis/apiextensions.k8s.io/v1/customresourcedefinitions would give (an ADDED event for watchers, the
 * kind in discovery at once) and deleting it removes the kind and its objects with DELETED events.
 */
export const DEFINITION_API_VERSION = 'apiextensions.k8s.io/v1';
export const DEFINITION_KIND = 'CustomResourceDefinition';

/** Accept any object: the sim does not enforce CRD schemas, and a permissive one keeps kubectl's client-side checks quiet. */
const PERMISSIVE_SCHEMA = { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } };

export function definitionFor(request: CrdRequest): KubeObject {
  const { group, kind, plural, scope, versions } = crdFrom(request);
  return {
    apiVersion: DEFINITION_API_VERSION,
    kind: DEFINITION_KIND,
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope,
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      // The first version is the storage version; all are served.
      versions: versions.map((name, i) => ({ name, served: true, storage: i === 0, schema: PERMISSIVE_SCHEMA })),
    },
  };
}

/** Creates the definition (409 AlreadyExists when one of that name exists); returns it as stored. */
export function createDefinition(cluster: SimCluster, request: CrdRequest): KubeObject {
  return cluster.create(definitionFor(request));
}

/** Deletes a definition by name (`<plural>.<group>`; 404 NotFound when absent). */
export function deleteDefinition(cluster: SimCluster, name: string): DeleteResult {
  return cluster.delete(DEFINITION_API_VERSION, DEFINITION_KIND, '', name);
}
