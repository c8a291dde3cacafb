import { create } from '@bufbuild/protobuf';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from '../../common/logger.ts';
import { errorMessage } from '../../common/errors.ts';
import { SyncResponseSchema, type ChangeBatch, type SyncRequest, type SyncResponse } from '../../protocol/index.ts';
import type { Store, StoreBatch, StoreChange } from '../store/types.ts';
import type { SessionRegistry } from './session-registry.ts';
import { feedInfoFromWire, toResumePoint } from './conversions.ts';

export interface IngestMetrics {
  batchCommitted(account: string, changes: number, commitMs: number): void;
  changeRejected(account: string, reason: string): void;
}

export interface SyncHandlerOptions {
  store: Store;
  registry: SessionRegistry;
  logger: Logger;
  metrics?: IngestMetrics;
}

const decoder = new TextDecoder();

/**
 * Serves one account's Sync stream: checks that the stream belongs to the session caching the account,
 * then commits each batch in one transaction, strictly in order, and acknowledges it only after the
 * commit. A malformed change is reported and skipped; the rest of its batch is still applied.
 */
export class SyncHandler {
  constructor(private readonly options: SyncHandlerOptions) {}

  handle(call: ServerDuplexStream<SyncRequest, SyncResponse>): void {
    const { logger } = this.options;
    let account: string | undefined;
    let sessionId = '';
    let processing: Promise<void> = Promise.resolve();
    let ended = false;

    const refuse = (code: string, message: string) => {
      if (ended) return;
      ended = true;
      logger.warn({ account, sessionId, code }, `refusing sync stream: ${message}`);
      call.write(create(SyncResponseSchema, { kind: { case: 'refusal', value: { code, message } } }));
      call.end();
    };

    call.on('data', (request: SyncRequest) => {
      processing = processing
        .then(async () => {
          if (ended) return;
          if (account === undefined) {
            if (request.kind.case !== 'open') {
              refuse('PROTOCOL_VIOLATION', `the first message must be open, got ${request.kind.case ?? 'nothing'}`);
              return;
            }
            const open = request.kind.value;
            const session = this.options.registry.get(open.sessionId);
            if (!session || session.isClosed) {
              refuse('SESSION_UNKNOWN', `no live session ${open.sessionId} on this hub`);
              return;
            }
            if (this.options.registry.cachingSession(open.account) !== session) {
              refuse('NOT_CACHING_OWNER', `session ${open.sessionId} does not cache account ${open.account}`);
              return;
            }
            account = open.account;
            sessionId = open.sessionId;
            const resume = (await this.options.store.resumePoints(account)).map(toResumePoint);
            call.write(create(SyncResponseSchema, { kind: { case: 'ready', value: { resume } } }));
            return;
          }
          if (request.kind.case !== 'batch') {
            refuse('PROTOCOL_VIOLATION', `expected a batch, got ${request.kind.case ?? 'nothing'}`);
            return;
          }
          // The caching assignment may have moved (session gone): stop accepting from a stale owner.
          const session = this.options.registry.get(sessionId);
          if (!session || session.isClosed || this.options.registry.cachingSession(account) !== session) {
            refuse('NOT_CACHING_OWNER', `session ${sessionId} no longer caches account ${account}`);
            return;
          }
          const batch = request.kind.value;
          const started = performance.now();
          await this.options.store.applyBatch(this.toStoreBatch(account, batch), Date.now());
          const commitMs = performance.now() - started;
          this.options.metrics?.batchCommitted(account, batch.changes.length, commitMs);
          if (!ended) call.write(create(SyncResponseSchema, { kind: { case: 'ack', value: { seq: batch.seq, committedUnixMs: BigInt(Date.now()) } } }));
        })
        .catch((err) => {
          logger.error({ account, err: errorMessage(err) }, 'failed to commit a batch; closing the stream so the agent re-sends it');
          ended = true;
          call.destroy(err instanceof Error ? err : new Error(String(err)));
        });
    });
    call.on('end', () => {
      ended = true;
      call.end();
    });
    call.on('error', (err) => {
      ended = true;
      logger.debug({ account, err: errorMessage(err) }, 'sync stream error');
    });
  }

  private toStoreBatch(account: string, batch: ChangeBatch): StoreBatch {
    const feeds = batch.feeds.map(feedInfoFromWire);
    const changes: StoreChange[] = [];
    const reject = (reason: string) => {
      this.options.logger.warn({ account, seq: batch.seq.toString() }, `skipping a malformed change: ${reason}`);
      this.options.metrics?.changeRejected(account, reason);
    };
    for (const change of batch.changes) {
      const feed = feeds[change.feed];
      if (!feed) {
        reject(`feed index ${change.feed} is out of range (batch has ${feeds.length} feeds)`);
        continue;
      }
      if (feed.kind === '') {
        reject('feed has no kind');
        continue;
      }
      const kind = change.kind;
      switch (kind.case) {
        case 'upsert': {
          const v = kind.value;
          if (v.name === '') {
            reject('upsert without a name');
            continue;
          }
          changes.push({ type: 'upsert', feed, namespace: v.namespace, name: v.name, uid: v.uid, resourceVersion: v.resourceVersion, body: decoder.decode(v.object) });
          break;
        }
        case 'delete':
          if (kind.value.name === '') {
            reject('delete without a name');
            continue;
          }
          changes.push({ type: 'delete', feed, namespace: kind.value.namespace, name: kind.value.name });
          break;
        case 'touch':
          changes.push({ type: 'touch', feed, namespace: kind.value.namespace, name: kind.value.name, resourceVersion: kind.value.resourceVersion });
          break;
        case 'snapshotBegin':
          changes.push({ type: 'snapshotBegin', feed, snapshotId: kind.value.snapshotId });
          break;
        case 'snapshotEnd':
          changes.push({ type: 'snapshotEnd', feed, snapshotId: kind.value.snapshotId, resourceVersion: kind.value.resourceVersion });
          break;
        case 'feedDropped':
          changes.push({ type: 'feedDropped', feed, reason: kind.value.reason });
          break;
        case 'skipped': {
          const v = kind.value;
          this.options.logger.warn({ account, kind: feed.kind, namespace: v.namespace, name: v.name, code: v.code }, `agent skipped an object: ${v.message}`);
          changes.push({ type: 'skipped', feed, namespace: v.namespace, name: v.name, resourceVersion: v.resourceVersion, code: v.code, message: v.message });
          break;
        }
        default:
          reject('change of an unknown kind');
      }
    }
    const progress: StoreBatch['progress'] = [];
    for (const p of batch.progress) {
      const feed = feeds[p.feed];
      if (!feed) {
        reject(`progress for feed index ${p.feed} is out of range`);
        continue;
      }
      if (p.resourceVersion !== '') progress.push({ feed, resourceVersion: p.resourceVersion });
    }
    return { account, changes, progress };
  }
}
