import { create } from '@bufbuild/protobuf';
import { status as GrpcStatus, type ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from '../../common/logger.ts';
import { Errors, errorMessage, isScaleAgentError, type ErrorCode } from '../../common/errors.ts';
import { qualifiedKind } from '../../common/kube-object.ts';
import {
  FeedDivergenceSchema,
  SyncResponseSchema,
  type ChangeBatch,
  type Feed,
  type FeedDivergence,
  type ObjectUpsert,
  type SyncRequest,
  type SyncResponse,
} from '../../protocol/index.ts';
import { sameDigest, type FeedDigestValue } from '../../protocol/feed-digest.ts';
import { feedKey } from '../store/batch-apply.ts';
import { changeKeyProblem, feedChangeProblem, progressProblem, type ChangeKeys } from '../store/storable-keys.ts';
import type { CachingLeases } from '../replicas/caching-leases.ts';
import type { FeedInfo, IngestOutcome, IngestStore, StoreBatch, StoreChange } from '../store/types.ts';
import type { SessionRegistry } from './session-registry.ts';
import { feedInfoFromWire, toResumePoint } from './conversions.ts';
import { authenticateCall, type Authentication, type IdentityAuthorizer } from './identities.ts';
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
  /** Only the ingest: who may use an account is the authorizer's and the registry's to say, not the store's. */
  store: IngestStore;
  registry: SessionRegistry;
  logger: Logger;
  metrics?: IngestMetrics;
  /** Objects larger than this are skipped and reported (the agent should have; a hostile one may not). */
  maxObjectBytes?: number;
  /** Checks that a sync stream's own credentials (certificate, token) may use its account. */
  authorizer?: IdentityAuthorizer;
  /**
   * Caching ownership across hub replicas: a stream opens only while its session holds the account's
   * lease, and each batch carries the lease's epoch as its fence. Without it (a lone replica's tests)
   * batches are not fenced.
   */
  leases?: Pick<CachingLeases, 'confirm' | 'epoch' | 'lost'>;
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

/** A wire change as the store keys it (storable-keys.ts); undefined for what never reaches the store (a digest, a change of an unknown kind). */
function changeKeysOf(kind: ChangeBatch['changes'][number]['kind'], feed: FeedInfo): ChangeKeys | undefined {
  switch (kind.case) {
    case 'upsert': {
      const v = kind.value;
      return { type: 'upsert', feed, namespace: v.namespace, name: v.name, uid: v.uid, resourceVersion: v.resourceVersion };
    }
    case 'delete': {
      const v = kind.value;
      return { type: 'delete', feed, namespace: v.namespace, name: v.name, uid: v.uid, resourceVersion: v.resourceVersion };
    }
    case 'touch':
      return { type: 'touch', feed, namespace: kind.value.namespace, name: kind.value.name, resourceVersion: kind.value.resourceVersion };
    case 'snapshotBegin':
      return { type: 'snapshotBegin', feed, snapshotId: kind.value.snapshotId };
    case 'snapshotEnd':
      return { type: 'snapshotEnd', feed, snapshotId: kind.value.snapshotId, resourceVersion: kind.value.resourceVersion };
    case 'feedDropped':
      return { type: 'feedDropped', feed, reason: kind.value.reason };
    case 'skipped': {
      const v = kind.value;
      return { type: 'skipped', feed, namespace: v.namespace, name: v.name, resourceVersion: v.resourceVersion, code: v.code, message: v.message };
    }
    default:
      return undefined;
  }
}

/** What serving one account's sync channel needs of its transport (a Sync call, or a SharedSync channel). */
export interface SyncCall {
  on(event: 'data', listener: (request: SyncRequest) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  write(response: SyncResponse): unknown;
  /** Ends the channel normally, after what was written. */
  end(): unknown;
  /** Ends the channel as failed (`details` says why): the agent re-sends what is unacknowledged on a new one. */
  fail(details: string): void;
  readonly writableEnded: boolean;
  /** Called as each request arrives: lets the transport free what it keeps of the previous message. */
  afterMessage?(): void;
}

/** A version 1 Sync stream as a SyncCall. */
function grpcSyncCall(call: ServerDuplexStream<SyncRequest, SyncResponse>): SyncCall {
  return {
    on: (event: string, listener: (...args: any[]) => void) => call.on(event, listener), // eslint-disable-line @typescript-eslint/no-explicit-any
    write: (response) => call.write(response),
    end: () => call.end(),
    // An 'error' event with a gRPC status is how grpc-js ends a server stream with that status; the
    // agent reopens and re-sends. (destroy() would skip sending any status: the agent's stream would
    // hang, its batches unacknowledged, until the connection itself broke.)
    fail: (details) => call.emit('error', Object.assign(new Error(details), { code: GrpcStatus.UNAVAILABLE, details })),
    get writableEnded() {
      return call.writableEnded;
    },
    afterMessage: () => releaseDecoderLeftovers(call),
  } as SyncCall;
}

/**
 * Serves one account's Sync stream: checks that the stream belongs to the session caching the account
 * (with leases: that the database still assigns the account to it), then commits each batch in one
 * transaction, strictly in order, fenced by the caching epoch, and acknowledges it only after the
 * commit. A malformed change is reported and skipped; the rest of its batch is still applied.
 */
export class SyncHandler {
  constructor(private readonly options: SyncHandlerOptions) {}

  /** A version 1 Sync stream: one account's channel on its own gRPC call. */
  handle(call: ServerDuplexStream<SyncRequest, SyncResponse>): void {
    // A peer without valid credentials is refused at once, before it can send anything to decode.
    const authentication = this.options.authorizer ? authenticateCall(this.options.authorizer, call) : undefined;
    this.handleChannel(grpcSyncCall(call), authentication);
  }

  /**
   * One account's sync channel, on its own Sync stream (version 1) or inside a SharedSync stream
   * (version 2, shared-sync-handler.ts); `authentication` is the stream's, undefined without an authorizer.
   */
  handleChannel(call: SyncCall, authentication: Authentication | undefined): void {
    const { logger } = this.options;
    let account: string | undefined;
    let sessionId = '';
    /** The caching epoch the stream's session held when it opened: every batch commits only while it is still the account's. */
    let fence: number | undefined;
    const { leases } = this.options;
    let processing: Promise<void> = Promise.resolve();
    let ended = false;

    const refuse = (code: ErrorCode, message: string) => {
      if (ended) return;
      ended = true;
      logger.warn({ account, sessionId, code }, `refusing sync stream: ${message}`);
      call.write(create(SyncResponseSchema, { kind: { case: 'refusal', value: { code, message } } }));
      call.end();
    };

    if (authentication !== undefined && !authentication.ok) {
      refuse(authentication.code, authentication.message);
      return;
    }

    call.on('data', (request: SyncRequest) => {
      call.afterMessage?.();
      processing = processing
        .then(async () => {
          if (ended) return;
          if (account === undefined) {
            if (request.kind.case !== 'open') {
              refuse(Errors.PROTOCOL_VIOLATION.code, `the first message must be open, got ${request.kind.case ?? 'nothing'}`);
              return;
            }
            const open = request.kind.value;
            const session = this.options.registry.get(open.sessionId);
            if (!session || session.isClosed) {
              refuse(Errors.SESSION_UNKNOWN.code, `no live session ${open.sessionId} on this hub`);
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
              refuse(Errors.NOT_CACHING_OWNER.code, `session ${open.sessionId} does not cache account ${open.account}`);
              return;
            }
            if (leases !== undefined) {
              // The registry is this replica's view; the database is everyone's: the lease must still be this session's.
              fence = await leases.confirm(open.account, open.sessionId);
              if (fence === undefined) {
                refuse(Errors.NOT_CACHING_OWNER.code, `session ${open.sessionId} does not hold the caching assignment of account ${open.account}`);
                return;
              }
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
            refuse(Errors.PROTOCOL_VIOLATION.code, `expected a batch, got ${request.kind.case ?? 'nothing'}`);
            return;
          }
          // The caching assignment may have moved (session gone): stop accepting from a stale owner.
          const session = this.options.registry.get(sessionId);
          if (
            !session ||
            session.isClosed ||
            this.options.registry.cachingSession(account) !== session ||
            (fence !== undefined && leases?.epoch(account, sessionId) !== fence)
          ) {
            refuse(Errors.NOT_CACHING_OWNER.code, `session ${sessionId} no longer caches account ${account}`);
            return;
          }
          const batch = request.kind.value;
          const started = performance.now();
          const { storeBatch, digests } = this.toStoreBatch(account, batch);
          if (fence !== undefined) storeBatch.fence = fence;
          let outcome: IngestOutcome;
          try {
            outcome = await this.options.store.applyBatch(storeBatch, Date.now());
          } catch (err) {
            if (fence === undefined || !isScaleAgentError(err, Errors.CACHING_EPOCH_STALE.code)) throw err;
            // Another session (maybe at another replica) caches the account now. Its agent is told to stop
            // caching first (lost → an account update reply with caching false), so that it does not
            // reopen the stream this refusal ends.
            leases?.lost(account, sessionId, fence, `a batch at epoch ${fence} was refused: ${errorMessage(err)}`);
            refuse(Errors.NOT_CACHING_OWNER.code, `session ${sessionId} no longer caches account ${account}: ${errorMessage(err)}`);
            return;
          }
          const commitMs = performance.now() - started;
          // toStoreBatch asked the store's rules first, so the store leaves nothing out here; should it, the
          // skip is reported like any other.
          for (const { reason } of outcome.rejected) this.changeRejected(account, batch, reason);
          this.options.metrics?.batchCommitted(account, batch.changes.length, commitMs);
          const divergences = digests.length > 0 ? await this.compareDigests(account, digests) : [];
          if (!ended)
            call.write(create(SyncResponseSchema, { kind: { case: 'ack', value: { seq: batch.seq, committedUnixMs: BigInt(Date.now()), divergences } } }));
        })
        .catch((err) => {
          logger.error({ account, err: errorMessage(err) }, 'failed to commit a batch; closing the stream so the agent re-sends it');
          ended = true;
          call.fail(`failed to commit a batch: ${errorMessage(err)}`);
        });
    });
    // The agent half-closed: answer what it sent before (acks, refusals), then close our side.
    call.on('end', () => {
      processing = processing
        .then(() => {
          if (account === undefined && !ended) refuse(Errors.PROTOCOL_VIOLATION.code, 'the stream ended before an open');
          ended = true;
          if (!call.writableEnded) call.end();
        })
        .catch((err) => logger.error({ account, err: errorMessage(err) }, 'failed to close a sync stream'));
    });
    call.on('error', (err: Error) => {
      ended = true;
      logger.debug({ account, err: errorMessage(err) }, 'sync stream error');
    });
  }

  private changeRejected(account: string, batch: ChangeBatch, reason: string): void {
    this.options.logger.warn({ account, seq: batch.seq.toString() }, `skipping a malformed change: ${reason}`);
    this.options.metrics?.changeRejected(account, reason);
  }

  /**
   * The batch as the store takes it, and the digests to compare after the commit. A malformed change is
   * reported and skipped, and so is one whose keys the store cannot hold: the store's rules
   * (storable-keys.ts) are asked first, before this handler's own (the object size limit, a body's NUL
   * check) and before a digest is taken, so that those only ever see changes the store will hold, and
   * every skip is reported in the batch's order before the commit.
   */
  private toStoreBatch(account: string, batch: ChangeBatch): { storeBatch: StoreBatch; digests: DigestCheck[] } {
    const feeds = batch.feeds.map(feedInfoFromWire);
    const changes: StoreChange[] = [];
    const digests: DigestCheck[] = [];
    const reject = (reason: string) => this.changeRejected(account, batch, reason);
    const feedProblems = feeds.map(feedChangeProblem);
    for (const change of batch.changes) {
      const feed = feeds[change.feed];
      if (!feed) {
        reject(`feed index ${change.feed} is out of range (batch has ${feeds.length} feeds)`);
        continue;
      }
      const kind = change.kind;
      const keys = changeKeysOf(kind, feed);
      const problem = feedProblems[change.feed] ?? (keys === undefined ? undefined : changeKeyProblem(keys));
      if (problem !== undefined) {
        reject(problem);
        continue;
      }
      if (kind.case === 'digest') {
        digests.push({
          feed,
          wireFeed: batch.feeds[change.feed]!,
          digest: { count: kind.value.count, hashHigh: kind.value.hashHigh, hashLow: kind.value.hashLow },
        });
      } else if (keys === undefined) {
        reject('change of an unknown kind');
      } else if (keys.type !== 'upsert') {
        if (keys.type === 'skipped')
          this.options.logger.warn(
            { account, kind: feed.kind, namespace: keys.namespace, name: keys.name, code: keys.code },
            `agent skipped an object: ${keys.message}`,
          );
        changes.push(keys);
      } else if (kind.case === 'upsert') {
        const upsert = this.withObject(account, keys, kind.value, reject);
        if (upsert !== undefined) changes.push(upsert);
      }
    }
    const progress: StoreBatch['progress'] = [];
    for (const p of batch.progress) {
      const feed = feeds[p.feed];
      if (!feed) {
        reject(`progress for feed index ${p.feed} is out of range`);
        continue;
      }
      const problem = progressProblem({ feed, resourceVersion: p.resourceVersion });
      if (problem !== undefined) {
        reject(problem);
        continue;
      }
      if (p.resourceVersion !== '') progress.push({ feed, resourceVersion: p.resourceVersion });
    }
    return { storeBatch: { account, changes, progress }, digests };
  }

  /** An upsert with its object; an object over the size limit becomes a skip, one that is not JSON text is rejected. */
  private withObject(
    account: string,
    keys: Extract<ChangeKeys, { type: 'upsert' }>,
    wire: ObjectUpsert,
    reject: (reason: string) => void,
  ): StoreChange | undefined {
    const maxObjectBytes = this.options.maxObjectBytes;
    if (maxObjectBytes !== undefined && wire.object.byteLength > maxObjectBytes) {
      const message = `object is ${wire.object.byteLength} bytes, more than the limit of ${maxObjectBytes} (limits.maxObjectBytes)`;
      this.options.logger.warn(
        { account, kind: keys.feed.kind, namespace: keys.namespace, name: keys.name, code: Errors.OBJECT_TOO_LARGE.code },
        `skipping an object the agent sent: ${message}`,
      );
      this.options.metrics?.changeRejected(account, Errors.OBJECT_TOO_LARGE.code);
      return {
        type: 'skipped',
        feed: keys.feed,
        namespace: keys.namespace,
        name: keys.name,
        resourceVersion: keys.resourceVersion,
        code: Errors.OBJECT_TOO_LARGE.code,
        message,
      };
    }
    const body = decoder.decode(wire.object);
    if (body.includes('\u0000')) {
      reject(`upsert of ${JSON.stringify(keys.name)}: the object holds a NUL character (it is not JSON text)`);
      return undefined;
    }
    const metadata = metadataSlice(wire.object, body, wire.metadataOffset, wire.metadataLength);
    // Built field by field, not spread: one object of one shape per upsert on the ingest's hot path.
    return {
      type: 'upsert',
      feed: keys.feed,
      namespace: keys.namespace,
      name: keys.name,
      uid: keys.uid,
      resourceVersion: keys.resourceVersion,
      body,
      metadata,
    };
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
        {
          account,
          group: check.feed.group,
          kind: check.feed.kind,
          namespace: check.feed.namespace || undefined,
          agentCount: check.digest.count,
          hubCount: held.count,
        },
        "the hub's copy of a feed differs from the agent's; asking the agent to resync it",
      );
      divergences.push(create(FeedDivergenceSchema, { feed: check.wireFeed, agentCount: check.digest.count, hubCount: held.count }));
    }
    return divergences;
  }
}
