import type { KubeObject } from '../../../common/kube-object.ts';
import type { OperationRouter } from '../../router/types.ts';
import type { AccountRecord, CacheReader, CachedObject } from '../../store/types.ts';
import { liveList, target } from './live-reads.ts';

/**
 * The Events of one object for GET /manifests (`includeEvents`, Clouddriver's `kubectl get event
 * --field-selector involvedObject.name=…,involvedObject.kind=…`): from the cache when the account watches
 * Events, else live through the agent; none when neither answers. Sorted by last occurrence, oldest first.
 */
type Obj = Record<string, unknown>;

/** Kubernetes puts the Events of cluster-scoped objects in "default". */
const CLUSTER_SCOPED_EVENTS_NAMESPACE = 'default';

function eventTime(event: KubeObject): string {
  const e = event as Obj;
  const pick = [e.lastTimestamp, e.eventTime, e.firstTimestamp, event.metadata?.creationTimestamp].find((t) => typeof t === 'string' && t !== '');
  return (pick as string | undefined) ?? '';
}

function about(event: KubeObject, kind: string, name: string): boolean {
  const involved = (event as Obj).involvedObject as Obj | undefined;
  return involved?.name === name && involved?.kind === kind;
}

export function sortEvents(events: KubeObject[]): KubeObject[] {
  return events.sort((a, b) => {
    const ta = Date.parse(eventTime(a));
    const tb = Date.parse(eventTime(b));
    return (Number.isFinite(ta) ? ta : 0) - (Number.isFinite(tb) ? tb : 0);
  });
}

export async function manifestEvents(store: CacheReader, router: OperationRouter, account: AccountRecord, object: CachedObject): Promise<KubeObject[]> {
  const namespace = object.namespace === '' ? CLUSTER_SCOPED_EVENTS_NAMESPACE : object.namespace;
  const cached = account.kinds.some((k) => k.group === '' && k.kind === 'Event' && k.watchable);
  if (cached) {
    // Kubernetes names an Event "<involved object name>.<unique suffix>".
    const rows = await store.searchObjects({ account: account.name, kinds: [{ group: '', kind: 'Event' }], namespace, namePrefix: `${object.name}.` });
    const events: KubeObject[] = [];
    for (const row of rows) {
      try {
        const event = JSON.parse(row.body) as KubeObject;
        if (about(event, object.kind, object.name)) events.push(event);
      } catch {
        // skip an unreadable row
      }
    }
    return sortEvents(events);
  }
  const live = await liveList(router, account.name, target('', 'Event', namespace), {
    fieldSelector: `involvedObject.name=${object.name},involvedObject.kind=${object.kind}`,
  });
  return sortEvents((live ?? []).filter((e) => about(e, object.kind, object.name)));
}
