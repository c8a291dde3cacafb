/**
 * What the sim knows about one kind: its names in discovery, scope, subresources, and which fields beyond
 * metadata a field selector may use. Built-in kinds are declared in builtin-resources.ts; custom resources
 * get one from their CustomResourceDefinition.
 */
export type NameRule = 'subdomain' | 'label' | 'dns1035' | 'path-segment';

/** The type of a printed table column (metav1.TableColumnDefinition.type). */
export type ColumnType = 'string' | 'integer' | 'number' | 'boolean' | 'date';

/** A CustomResourceDefinition version's additionalPrinterColumns entry. */
export interface PrinterColumn {
  name: string;
  type: ColumnType;
  jsonPath: string;
  format?: string;
  description?: string;
  priority?: number;
}

export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  /** The resource name in URLs: lowercase plural. */
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Subresources served: status (GET/PUT/PATCH of .status only), scale (autoscaling/v1 Scale). */
  subresources: { status: boolean; scale: boolean };
  /** Bump metadata.generation when anything outside metadata/status changes. */
  tracksGeneration: boolean;
  /** Name validation: DNS-1123 subdomain (most kinds), DNS-1123 label (Namespace), DNS-1035 label (Service), path segment (RBAC). */
  nameRule: NameRule;
  /** Field paths a field selector may use besides metadata.name and metadata.namespace. */
  selectableFields: string[];
  /** Whether a plain DELETE returns the deleted object (pods, custom resources) or a Success Status. */
  returnsDeletedObject: boolean;
  /** Set for kinds defined by a CustomResourceDefinition. */
  custom: boolean;
  /** A custom resource's additionalPrinterColumns (what `kubectl get` shows for it). */
  printerColumns?: PrinterColumn[];
}

/** The key of a resource's collection in a cluster store: group/plural (version-independent). */
export function resourceId(type: Pick<ResourceType, 'group' | 'plural'>): string {
  return `${type.group}/${type.plural}`;
}

export function apiVersionOf(type: Pick<ResourceType, 'group' | 'version'>): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

export const METADATA_FIELDS = ['metadata.name', 'metadata.namespace'] as const;

/** The set of field-selector fields a resource supports. */
export function supportedFields(type: ResourceType): Set<string> {
  return new Set([...METADATA_FIELDS, ...type.selectableFields]);
}

/** Reads a dotted field path out of an object as a string ("" when absent), for field selectors. */
export function readFieldPath(object: Record<string, unknown>, path: string): string {
  let current: unknown = object;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null) return '';
    current = (current as Record<string, unknown>)[part];
  }
  if (current === undefined || current === null) return '';
  return typeof current === 'string' ? current : String(current);
}
