import { readFieldPath, type ResourceType } from './resource-type.ts';
import type { KubeObject, OwnerReference } from '../common/kube-object.ts';

/**
 * One object as the store keeps it: its JSON text (what lists and watches send, concatenated without
 * re-serialising) plus the few parsed fields that filtering, paging and garbage collection need.
 */
export interface StoredObject {
  /** `namespace/name` for namespaced kinds, `name` for cluster-scoped ones: the sort and lookup key. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly resourceVersion: number;
  readonly labels: Readonly<Record<string, string>> | undefined;
  /** Values of the resource's selectable fields, metadata.name/namespace included. */
  readonly fields: Readonly<Record<string, string>>;
  /** UIDs of the owners in metadata.ownerReferences, for garbage collection. */
  readonly ownerUids: readonly string[];
  /** The owner reference with controller=true, which tells a controller which of its objects changed. */
  readonly controller: ControllerRef | undefined;
  readonly json: string;
}

export interface ControllerRef {
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
}

export function objectKey(namespace: string, name: string): string {
  return namespace === '' ? name : `${namespace}/${name}`;
}

export function toStoredObject(type: ResourceType, object: KubeObject): StoredObject {
  const meta = object.metadata ?? {};
  const namespace = meta.namespace ?? '';
  const name = meta.name ?? '';
  const fields: Record<string, string> = { 'metadata.name': name, 'metadata.namespace': namespace };
  for (const path of type.selectableFields) fields[path] = readFieldPath(object, path);
  return {
    key: objectKey(namespace, name),
    namespace,
    name,
    uid: meta.uid ?? '',
    resourceVersion: Number(meta.resourceVersion ?? 0),
    labels: meta.labels,
    fields,
    ownerUids: (meta.ownerReferences ?? []).map((ref) => ref.uid),
    controller: controllerRef(meta.ownerReferences),
    json: JSON.stringify(object),
  };
}

export function parseStored(stored: StoredObject): KubeObject {
  return JSON.parse(stored.json) as KubeObject;
}

function controllerRef(refs: OwnerReference[] | undefined): ControllerRef | undefined {
  const ref = refs?.find((r) => r.controller === true);
  return ref === undefined ? undefined : { kind: ref.kind, name: ref.name, uid: ref.uid };
}
