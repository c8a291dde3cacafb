import type { KubeObject } from '../common/kube-object.ts';

/** kubectl's copy of the whole applied manifest: large, and for a Secret it holds the values in clear. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Trims an object before it is cached or sent: drops managedFields (often half an object's size) and the
 * last-applied annotation, and for Secrets drops `data` and `stringData` entirely, so secret values never
 * leave the agent. Mutates in place (no copy per object on the hot path) and returns the same object.
 */
export function slimObject<T extends KubeObject>(obj: T): T {
  const metadata = obj.metadata;
  if (metadata !== undefined && metadata !== null) {
    if (metadata.managedFields !== undefined) delete metadata.managedFields;
    const annotations = metadata.annotations;
    if (annotations !== undefined && annotations !== null && LAST_APPLIED_ANNOTATION in annotations) {
      delete annotations[LAST_APPLIED_ANNOTATION];
      if (Object.keys(annotations).length === 0) delete metadata.annotations;
    }
  }
  if (obj.kind === 'Secret') {
    delete obj.data;
    delete obj.stringData;
  }
  return obj;
}
