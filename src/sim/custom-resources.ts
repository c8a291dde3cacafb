import type { KubeObject } from '../common/kube-object.ts';
import type { ClusterStore } from './cluster-store.ts';
import type { ClusterEvent } from './event-log.ts';
import { resourceId, type ColumnType, type PrinterColumn, type ResourceType } from './resource-type.ts';
import { parseStored } from './stored-object.ts';

/**
 * CustomResourceDefinitions: creating or updating one makes its served versions available at once (in
 * discovery and for every verb); deleting one removes its objects (each with a DELETED event), ends the
 * watches on it and removes the kind.
 */
type Obj = Record<string, unknown>;

const DEFINITIONS_RESOURCE = 'apiextensions.k8s.io/customresourcedefinitions';

export function typesFromDefinition(definition: KubeObject): ResourceType[] {
  const spec = (definition.spec ?? {}) as Obj;
  const names = (spec.names ?? {}) as Obj;
  const kind = String(names.kind ?? '');
  const versions = Array.isArray(spec.versions) ? (spec.versions as Obj[]) : [];
  return versions
    .filter((v) => v?.served !== false && typeof v?.name === 'string')
    .map((v) => {
      const subresources = (v.subresources ?? {}) as Obj;
      const selectable = Array.isArray(v.selectableFields) ? (v.selectableFields as Obj[]) : [];
      return {
        group: String(spec.group ?? ''),
        version: String(v.name),
        kind,
        plural: String(names.plural ?? ''),
        singular: typeof names.singular === 'string' && names.singular !== '' ? names.singular : kind.toLowerCase(),
        namespaced: spec.scope !== 'Cluster',
        ...(Array.isArray(names.shortNames) ? { shortNames: names.shortNames as string[] } : {}),
        ...(Array.isArray(names.categories) ? { categories: names.categories as string[] } : {}),
        subresources: { status: subresources.status !== undefined, scale: false },
        tracksGeneration: true,
        nameRule: 'subdomain' as const,
        selectableFields: selectable.map((f) => String(f.jsonPath ?? '').replace(/^\./, '')).filter((f) => f !== ''),
        returnsDeletedObject: true,
        custom: true,
        printerColumns: printerColumns(v.additionalPrinterColumns),
      };
    });
}

const COLUMN_TYPES = new Set<ColumnType>(['string', 'integer', 'number', 'boolean', 'date']);

function printerColumns(value: unknown): PrinterColumn[] {
  if (!Array.isArray(value)) return [];
  return (value as Obj[])
    .filter((c) => typeof c?.name === 'string' && typeof c.jsonPath === 'string')
    .map((c) => ({
      name: c.name as string,
      type: COLUMN_TYPES.has(c.type as ColumnType) ? (c.type as ColumnType) : 'string',
      jsonPath: c.jsonPath as string,
      ...(typeof c.format === 'string' ? { format: c.format } : {}),
      ...(typeof c.description === 'string' ? { description: c.description } : {}),
      ...(typeof c.priority === 'number' ? { priority: c.priority } : {}),
    }));
}

/** Keeps the registry in step with the cluster's CustomResourceDefinitions; attach with store.onChange. */
export function customResourceListener(store: ClusterStore): (event: ClusterEvent) => void {
  return (event) => {
    if (event.resource !== DEFINITIONS_RESOURCE) return;
    const definitionName = event.object.name;
    if (event.type !== 'DELETED') {
      store.registry.setCustom(definitionName, typesFromDefinition(parseStored(event.object)));
      return;
    }
    const types = store.registry.customTypes(definitionName);
    const first = types[0];
    if (first === undefined) return;
    const resource = resourceId(first);
    for (const object of [...store.collection(resource).values()]) store.remove(first, object, parseStored(object));
    store.watches.closeAll(resource);
    store.dropCollection(resource);
    store.registry.removeCustom(definitionName);
  };
}
