import { create } from '@bufbuild/protobuf';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from '../../common/logger.ts';
import { Errors, errorMessage, type ErrorCode } from '../../common/errors.ts';
import { qualifiedKind } from '../../common/kube-object.ts';
import { FeedDivergenceSchema, SyncResponseSchema, type ChangeBatch, type Feed, type FeedDivergence, type SyncRequest, type SyncResponse } from '../../protocol/index.ts';
import { sameDigest, type FeedDigestValue } from '../../protocol/feed-digest.ts';
import type { FeedInfo, Store, StoreBatch, StoreChange } from '../store/types.ts';
import { feedKey } from '../store/batch-apply.ts';
import { KEY_LENGTHS } from '../store/schema.ts';
import type { SessionRegistry } from './session-registry.ts';
import { feedInfoFromWire, toResumePoint } from './conversions.ts';
import { authenticateCall, type IdentityAuthorizer } from './identities.ts';
import { metadataSlice } from './metadata-slice.ts';

export interface IngestMetrics {
  batchCommitted(account: string, changes: number, commitMs: number): void;
  changeRejected(account: string, reason: string): void;
  /** Anti-entropy compared a feed's digest: `diverged` when the hub's copy differed from the agent's. */
  digestCompared(account: string, kind: string, diverged: boolean): void;
}

/** A digest the agent sent, to compare once its batch is committed. */
interface DigestCheck {
  feed: FeedInfo;
  wireFeed: Feed;
  digest: FeedDigestValue;
}

export interface SyncHandlerOptions {
  store: Store;
  registry: SessionRegistry;
  logger: Logger;
  metrics?: IngestMetrics;
  /** Objects larger than this are skipped and reported (the agent should have; a hostile one may not). */
  maxObjectBytes?: number;
  /** Checks that a sync stream's own credentials (certificate, token) may use its account. */
  authorizer?: IdentityAuthorizer;
}

const decoder = new TextDecoder();

/** The parts of grpc-js's per-call message decoder (stream-decoder.js) that releaseDecoderLeftovers touches. */
interface GrpcStreamDecoder {
  readState: number;
  readPartialMessage: Buffer[];
  readCompressFlag: Buffer;
}
const DECODER_NO_DATA = 0;
const EMPTY_FLAG = Buffer.alloc(1);

/**
 * grpc-js's message decoder keeps the slices of the last message it assembled — and through them the
 * received HTTP/2 chunks — until the next message on the stream begins. A Sync stream's last batch is
 * often a megabyte, and an account may then stay quiet for hours: with a thousand accounts that held
 * most of the hub's memory (docs/performance.md, "scale"). Between messages those fields are leftovers
 * the decoder overwrites when the next message starts, so they are dropped here. Reached through
 * grpc-js's internals (server-call.js, server-interceptors.js); if they change, nothing is done.
 */
function releaseDecoderLeftovers(call: ServerDuplexStream<SyncRequest, SyncResponse>): void {
  try {
    let inner = (call as unknown as { call?: { nextCall?: unknown; decoder?: unknown } }).call;
    for (let depth = 0; inner !== undefined && inner.decoder === undefined && depth < 8; depth++) inner = inner.nextCall as typeof inner;
    const decoder = inner?.decoder as Partial<GrpcStreamDecoder> | undefined;
    if (decoder === undefined || decoder.readState !== DECODER_NO_DATA || !Array.isArray(decoder.readPartialMessage)) return;
    decoder.readPartialMessage = [];
    decoder.readCompressFlag = EMPTY_FLAG;
  } catch {
    // Not the grpc-js this was written against: leave it alone.
  }
}

/**
 * Why a key the store will index does not fit it (too long for its column, or a NUL character, which
 * PostgreSQL cannot store): such a change is skipped and reported instead of failing its whole batch on
 * PostgreSQL or MySQL, where the agent would re-send it forever. Kubernetes' own validation keeps real
 * objects far inside these bounds.
 */
function textProblem(field: string, value: string, max: number): string | undefined {
  if (value.length > max) return `${field} is ${value.length} characters, more than ${max}`;
  if (value.includes('\u0000')) return `${field} holds a NUL character`;
  return undefined;
}

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * For the keys the store keeps in ASCII columns (API group, kind, namespace: Kubernetes allows only
 * ASCII in them): MySQL refuses other characters there, which would fail the whole batch again on
 * every re-send.
 */
function asciiKeyProblem(field: string, value: string, max: number): string | undefined {
  return textProblem(field, value, max) ?? (NON_ASCII.test(value) ? `${field} holds characters that are not ASCII` : undefined);
}

function firstProblem(...problems: Array<string | undefined>): string | undefined {
  return problems.find((p) => p !== undefined);
}

function feedProblem(feed: { group: string; kind: string; version: string; resource: string; namespace: string }): string | undefined {
  return firstProblem(
    asciiKeyProblem('the feed group', feed.group, KEY_LENGTHS.group),
    asciiKeyProblem('the feed kind', feed.kind, KEY_LENGTHS.kind),
    textProblem('the feed version', feed.version, KEY_LENGTHS.version),
    textProblem('the feed resource', feed.resource, KEY_LENGTHS.resource),
    asciiKeyProblem('the feed namespace', feed.namespace, KEY_LENGTHS.namespace),
  );
}

function changeKeyProblem(kind: ChangeBatch['changes'][number]['kind']): string | undefined {
  switch (kind.case) {
    case 'upsert':
    case 'delete':
    case 'touch':
    case 'skipped':
      return objectKeyProblem(kind.value);
    case 'snapshotBegin':
      return textProblem('the snapshot id', kind.value.snapshotId, KEY_LENGTHS.snapshotId);
    case 'snapshotEnd':
      return firstProblem(textProblem('the snapshot id', kind.value.snapshotId, KEY_LENGTHS.snapshotId), textProblem('the resourceVersion', kind.value.resourceVersion, KEY_LENGTHS.resourceVersion));
    default:
      return undefined;
  }
}

function objectKeyProblem(key: { namespace: string; name: string; uid?: string; resourceVersion?: string }): string | undefined {
  return firstProblem(
    asciiKeyProblem('the namespace', key.namespace, KEY_LENGTHS.namespace),
    textProblem('the name', key.name, KEY_LENGTHS.name),
    key.uid === undefined ? undefined : textProblem('the uid', key.uid, KEY_LENGTHS.uid),
    key.resourceVersion === undefined ? undefined : textProblem('the resourceVersion', key.resourceVersion, KEY_LENGTHS.resourceVersion),
  );
}

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

    const refuse = (code: ErrorCode, message: string) => {
      if (ended) return;
      ended = true;
      logger.warn({ account, sessionId, code }, `refusing sync stream: ${message}`);
      call.write(create(SyncResponseSchema, { kind: { case: 'refusal', value: { code, message } } }));
      call.end();
    };

    // A peer without valid credentials is refused at once, before it can send anything to decode.
    const authentication = this.options.authorizer ? authenticateCall(this.options.authorizer, call) : undefined;
    if (authentication !== undefined && !authentication.ok) {
      refuse(authentication.code, authentication.message);
      return;
    }

    call.on('data', (request: SyncRequest) => {
      releaseDecoderLeftovers(call);
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
            // A session id is not a credential: the stream's own credentials must allow the account too.
            // (Not necessarily the session's identity: a refreshed token may map to another allowed one.)
            if (this.options.authorizer && authentication?.ok && session.identity) {
              if (!this.options.authorizer.allows(authentication.identity, open.account)) {
                const names = authentication.identity.names.join(', ') || 'none';
                refuse(Errors.ACCOUNT_NOT_ALLOWED_FOR_IDENTITY.code, `account ${open.account} is not allowed for the sync stream's identity (${names})`);
                return;
              }
            }
            if (this.options.registry.cachingSession(open.account) !== session) {
              refuse('NOT_CACHING_OWNER', `session ${open.sessionId} does not cache account ${open.account}`);
              return;
            }
            account = open.account;
            sessionId = open.sessionId;
            const resume = (await this.options.store.resumePoints(account)).map(toResumePoint);
            // The agent compares every feed's digest after each (re)connect; until one matches, the account view says it is awaited.
            await this.options.store.markDigestsDue(account, Date.now());
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
          const { storeBatch, digests } = this.toStoreBatch(account, batch);
          await this.options.store.applyBatch(storeBatch, Date.now());
          const commitMs = performance.now() - started;
          this.options.metrics?.batchCommitted(account, batch.changes.length, commitMs);
          const divergences = digests.length > 0 ? await this.compareDigests(account, digests) : [];
          if (!ended) call.write(create(SyncResponseSchema, { kind: { case: 'ack', value: { seq: batch.seq, committedUnixMs: BigInt(Date.now()), divergences } } }));
        })
        .catch((err) => {
          logger.error({ account, err: errorMessage(err) }, 'failed to commit a batch; closing the stream so the agent re-sends it');
          ended = true;
          call.destroy(err instanceof Error ? err : new Error(String(err)));
        });
    });
    // The agent half-closed: answer what it sent before (acks, refusals), then close our side.
    call.on('end', () => {
      processing = processing.then(() => {
        if (account === undefined && !ended) refuse('PROTOCOL_VIOLATION', 'the stream ended before an open');
        ended = true;
        if (!call.writableEnded) call.end();
      });
    });
    call.on('error', (err) => {
      ended = true;
      logger.debug({ account, err: errorMessage(err) }, 'sync stream error');
    });
  }

  private toStoreBatch(account: string, batch: ChangeBatch): { storeBatch: StoreBatch; digests: DigestCheck[] } {
    const feeds = batch.feeds.map(feedInfoFromWire);
    const changes: StoreChange[] = [];
    const digests: DigestCheck[] = [];
    const reject = (reason: string) => {
      this.options.logger.warn({ account, seq: batch.seq.toString() }, `skipping a malformed change: ${reason}`);
      this.options.metrics?.changeRejected(account, reason);
    };
    const feedProblems = feeds.map(feedProblem);
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
      const badFeed = feedProblems[change.feed];
      if (badFeed !== undefined) {
        reject(badFeed);
        continue;
      }
      const kind = change.kind;
      const keyProblem = changeKeyProblem(kind);
      if (keyProblem !== undefined) {
        reject(`${kind.case}: ${keyProblem}`);
        continue;
      }
      switch (kind.case) {
        case 'upsert': {
          const v = kind.value;
          if (v.name === '') {
            reject('upsert without a name');
            continue;
          }
          const maxObjectBytes = this.options.maxObjectBytes;
          if (maxObjectBytes !== undefined && v.object.byteLength > maxObjectBytes) {
            const message = `object is ${v.object.byteLength} bytes, more than the limit of ${maxObjectBytes} (limits.maxObjectBytes)`;
            this.options.logger.warn({ account, kind: feed.kind, namespace: v.namespace, name: v.name, code: 'OBJECT_TOO_LARGE' }, `skipping an object the agent sent: ${message}`);
            this.options.metrics?.changeRejected(account, 'OBJECT_TOO_LARGE');
            changes.push({ type: 'skipped', feed, namespace: v.namespace, name: v.name, resourceVersion: v.resourceVersion, code: 'OBJECT_TOO_LARGE', message });
            continue;
          }
          const body = decoder.decode(v.object);
          if (body.includes('\u0000')) {
            reject(`upsert of ${JSON.stringify(v.name)}: the object holds a NUL character (it is not JSON text)`);
            continue;
          }
          const metadata = metadataSlice(v.object, body, v.metadataOffset, v.metadataLength);
          changes.push({ type: 'upsert', feed, namespace: v.namespace, name: v.name, uid: v.uid, resourceVersion: v.resourceVersion, body, ...(metadata !== undefined ? { metadata } : {}) });
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
        case 'digest':
          digests.push({ feed, wireFeed: batch.feeds[change.feed]!, digest: { count: kind.value.count, hashHigh: kind.value.hashHigh, hashLow: kind.value.hashLow } });
          break;
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
      const problem = feedProblems[p.feed] ?? textProblem('the progress resourceVersion', p.resourceVersion, KEY_LENGTHS.resourceVersion);
      if (problem !== undefined) {
        reject(problem);
        continue;
      }
      if (p.resourceVersion !== '') progress.push({ feed, resourceVersion: p.resourceVersion });
    }
    return { storeBatch: { account, changes, progress }, digests };
  }

  /**
   * Anti-entropy, after the commit: what the hub holds for each feed the batch carried a digest for,
   * against what the agent believes it sent. A mismatch is reported to the agent (which resyncs the
   * feed), logged and counted; nothing is deleted on a digest alone.
   */
  private async compareDigests(account: string, digests: DigestCheck[]): Promise<FeedDivergence[]> {
    const divergences: FeedDivergence[] = [];
    // Each comparison reads the feed's rows: one per feed per batch, the last digest counts, however many
    // a batch carries. (Batches of a stream are handled one at a time, so an agent cannot run more.)
    const latest = new Map<string, DigestCheck>();
    for (const check of digests) latest.set(feedKey(check.feed), check);
    for (const check of latest.values()) {
      const held = await this.options.store.feedDigest(account, check.feed);
      const diverged = !sameDigest(held, check.digest);
      await this.options.store.recordDigestComparison(account, check.feed, diverged, Date.now());
      this.options.metrics?.digestCompared(account, qualifiedKind(check.feed.group, check.feed.kind), diverged);
      if (!diverged) continue;
      this.options.logger.warn(
        { account, group: check.feed.group, kind: check.feed.kind, namespace: check.feed.namespace || undefined, agentCount: check.digest.count, hubCount: held.count },
        'the hub\'s copy of a feed differs from the agent\'s; asking the agent to resync it',
      );
      divergences.push(create(FeedDivergenceSchema, { feed: check.wireFeed, agentCount: check.digest.count, hubCount: held.count }));
    }
    return divergences;
  }
}
