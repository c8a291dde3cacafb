import type { KubeObject } from '../../src/common/kube-object.ts';

/** A schema that accepts any object: these tests are about discovery, not validation. */
const ANY_OBJECT = { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } };

/**
 * The CustomResourceDefinition of the cluster-scoped kind `Gadget` (group discovery.example.com, short
 * name `gd`) that discovery tests create, serving `versions` with the first as the storage version.
 */
export function gadgetDefinition(versions: readonly string[]): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'gadgets.discovery.example.com' },
    spec: {
      group: 'discovery.example.com',
      scope: 'Cluster',
      names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget', shortNames: ['gd'] },
      versions: versions.map((name, i) => ({ name, served: true, storage: i === 0, schema: ANY_OBJECT })),
    },
  };
}
