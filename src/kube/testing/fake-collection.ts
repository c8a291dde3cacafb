import type { KubeObject } from '../../common/kube-object.ts';
import { openWatch, sendJson, status, type FakeHandler, type FakeRequest, type FakeResponse, type RecordedRequest } from './fake-api-server.ts';

interface HistoryEntry {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
}

interface OpenWatch {
  send(type: string, object: unknown): void;
  raw(text: string): void;
  end(): void;
  fromRv: number;
}

/** Per-request override: return true when it answered the request itself. */
export type RequestHook = (req: RecordedRequest, res: FakeResponse) => boolean;

/**
 * One resource collection served the way the API server does: paged lists at one RV with continue
 * tokens, watches replaying history after an RV, bookmarks, compaction (410 as HTTP status or in-stream
 * ERROR event). Tests drive changes and inject failures through hooks.
 */
export class FakeCollection {
  private rv = 100;
  private readonly objects = new Map<string, KubeObject>();
  private readonly history: HistoryEntry[] = [];
  private compactedBelow = 0;
  readonly watches = new Set<OpenWatch>();
  /** How an expired watch RV is answered. */
  expiredAs: 'status' | 'event' = 'event';
  listHook: RequestHook | undefined;
  watchHook: RequestHook | undefined;
  lists: RecordedRequest[] = [];
  watchRequests: RecordedRequest[] = [];

  constructor(
    readonly path: string,
    private readonly kind = 'ConfigMap',
  ) {}

  get resourceVersion(): string {
    return String(this.rv);
  }

  readonly handler: FakeHandler = (_req: FakeRequest, res: FakeResponse, r: RecordedRequest) => {
    if (r.path !== this.path) return sendJson(res, 404, status(404, 'NotFound'));
    if (r.query.get('watch') === 'true') {
      this.watchRequests.push(r);
      if (this.watchHook?.(r, res)) return;
      return this.serveWatch(r, res);
    }
    this.lists.push(r);
    if (this.listHook?.(r, res)) return;
    return this.serveList(r, res);
  };

  add(name: string, data: Record<string, string> = {}): void {
    this.change('ADDED', { apiVersion: 'v1', kind: this.kind, metadata: { name, namespace: 'default', uid: `uid-${name}` }, data });
  }

  modify(name: string, data: Record<string, string>): void {
    const current = this.objects.get(name);
    if (current === undefined) throw new Error(`no ${name}`);
    this.change('MODIFIED', { ...current, data });
  }

  delete(name: string): void {
    const current = this.objects.get(name);
    if (current === undefined) throw new Error(`no ${name}`);
    this.change('DELETED', current);
  }

  /** Sends a bookmark at the current RV on every open watch. */
  bookmark(): void {
    for (const w of this.watches) w.send('BOOKMARK', { kind: this.kind, apiVersion: 'v1', metadata: { resourceVersion: this.resourceVersion } });
  }

  /** Forgets history: a watch from any RV older than the current one gets 410. */
  compact(): void {
    this.compactedBelow = this.rv;
    this.history.length = 0;
  }

  /** Ends every open watch as a server timeout would. */
  endWatches(): void {
    for (const w of this.watches) w.end();
    this.watches.clear();
  }

  private change(type: HistoryEntry['type'], object: KubeObject): void {
    this.rv++;
    const stamped: KubeObject = { ...object, metadata: { ...object.metadata, resourceVersion: String(this.rv) } };
    const name = stamped.metadata!.name!;
    if (type === 'DELETED') this.objects.delete(name);
    else this.objects.set(name, stamped);
    this.history.push({ rv: this.rv, type, object: stamped });
    for (const w of this.watches) w.send(type, stamped);
  }

  private serveList(r: RecordedRequest, res: FakeResponse): void {
    const limit = Number(r.query.get('limit') ?? '0');
    const token = r.query.get('continue');
    let listRv = this.rv;
    let offset = 0;
    if (token) {
      const [rvText, offsetText] = token.split(':');
      listRv = Number(rvText);
      offset = Number(offsetText);
      if (listRv < this.compactedBelow) return sendJson(res, 410, status(410, 'Expired', 'The provided continue parameter is too old'));
    }
    const all = [...this.objects.values()].sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
    const items = (limit > 0 ? all.slice(offset, offset + limit) : all.slice(offset)).map(({ kind: _k, apiVersion: _a, ...rest }) => rest);
    const more = limit > 0 && offset + limit < all.length;
    sendJson(res, 200, {
      kind: `${this.kind}List`,
      apiVersion: 'v1',
      // remainingItemCount as the API server sets it on a page followed by others (this fake takes no selectors).
      metadata: {
        resourceVersion: String(listRv),
        ...(more ? { continue: `${listRv}:${offset + limit}`, remainingItemCount: all.length - offset - limit } : {}),
      },
      items,
    });
  }

  private serveWatch(r: RecordedRequest, res: FakeResponse): void {
    const fromRv = Number(r.query.get('resourceVersion') ?? this.rv);
    if (fromRv < this.compactedBelow) {
      if (this.expiredAs === 'status') return sendJson(res, 410, status(410, 'Expired', 'too old resource version'));
      const w = openWatch(res);
      w.send('ERROR', status(410, 'Expired', `too old resource version: ${fromRv}`));
      return w.end();
    }
    const w: OpenWatch = { ...openWatch(res), fromRv };
    for (const entry of this.history) if (entry.rv > fromRv) w.send(entry.type, entry.object);
    this.watches.add(w);
    res.once('close', () => this.watches.delete(w));
  }
}
