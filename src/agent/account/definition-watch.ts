import type { KubeObject } from '../../common/kube-object.ts';
import type { ApiResource } from '../../kube/api-resource.ts';
import type { ReflectorSink, SnapshotReason } from '../../kube/reflector-sink.ts';

/** The API that serves CustomResourceDefinitions. */
export const DEFINITIONS_GROUP = 'apiextensions.k8s.io';
export const DEFINITIONS_RESOURCE = 'customresourcedefinitions';

/**
 * A definition's events come in bursts (created, names accepted, established; on deletion, the
 * terminating update then the delete), so changes within this long share one rediscovery.
 */
export const DEFINITION_CHANGE_DEBOUNCE_MS = 1000;

/** The definitions resource to watch, when the cluster serves it with list and watch. */
export function definitionsResource(resources: readonly ApiResource[]): ApiResource | undefined {
  return resources.find(
    (r) => r.group === DEFINITIONS_GROUP && r.resource === DEFINITIONS_RESOURCE && r.preferred && r.verbs.includes('list') && r.verbs.includes('watch'),
  );
}

/** Nothing of a definition is needed but the fact that it changed: keep the name for the logs. */
export function definitionIdentity(obj: KubeObject): KubeObject {
  return { metadata: { name: obj.metadata?.name, resourceVersion: obj.metadata?.resourceVersion } };
}

/**
 * The sink of the CustomResourceDefinition watch: it keeps nothing and calls `onChange` whenever the set
 * of definitions may have changed — any event, and any completed list. The first list counts too: the
 * account's discovery ran before it (at start, or long before when caching is handed over), and a
 * definition created or deleted in between would otherwise wait for the periodic rediscovery.
 */
export class DefinitionChangeSink implements ReflectorSink {
  private reason: SnapshotReason = 'initial';

  constructor(private readonly onChange: (why: string) => void) {}

  onSnapshotBegin(reason: SnapshotReason): void {
    this.reason = reason;
  }

  onSnapshotObject(): void {}

  onSnapshotEnd(): void {
    this.onChange(`definitions listed (${this.reason})`);
  }

  onEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject): void {
    this.onChange(`definition ${obj.metadata?.name ?? '?'} ${type.toLowerCase()}`);
  }

  onProgress(): void {}
}
