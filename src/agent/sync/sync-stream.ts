import { create } from '@bufbuild/protobuf';
import type { Logger } from '../../common/logger.ts';
import { errorMessage } from '../../common/errors.ts';
import { SyncRequestSchema, type FeedDivergence, type SyncRequest, type SyncResponse, type ResumePoint } from '../../protocol/index.ts';
import { buildBatch, type SentBatch } from './batch-builder.ts';
import { feedId } from './feed.ts';
import type { FeedQueue } from './feed-queue.ts';
import { processSendWindow, type SendWindow } from './send-window.ts';

/** A batch once written: what acknowledging or requeueing it needs (its encoded bytes are gRPC's now). */
export type AckedBatch = Omit<SentBatch, 'request'>;

export interface SyncStreamLimits {
  maxBatchBytes: number;
  maxBatchChanges: number;
  maxUnackedBatches: number;
}

/**
 * What a SyncStream needs of its transport: a version 1 Sync call (one gRPC stream per account), or a
 * channel of the session's version 2 SharedSync stream (session/shared-sync.ts).
 */
export interface SyncChannelCall {
  on(event: 'data', listener: (response: SyncResponse) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  write(request: SyncRequest): unknown;
  end(): unknown;
  cancel(): unknown;
}

export interface SyncStreamOptions {
  account: string;
  sessionId: string;
  open: () => SyncChannelCall;
  queues: () => FeedQueue[];
  limits: SyncStreamLimits;
  logger: Logger;
  /** The hub accepted the stream; the resume points are what it has committed. */
  onReady: (resume: ResumePoint[]) => void;
  /** The stream ended (error or close); in-flight batches are already requeued. */
  onClosed: (reason: string) => void;
  onBatchAcked?: (batch: AckedBatch, latencyMs: number) => void;
  /**
   * The hub compared a feed's digest (sent in an acknowledged batch) with what it holds: `divergence` is
   * what it reported when they differ, undefined when they match.
   */
  onDigestCompared?: (queue: FeedQueue, divergence: FeedDivergence | undefined) => void;
  /** Bytes in flight across every stream of the agent (send-window.ts); default: the process's. */
  window?: SendWindow;
}

/**
 * One account's Sync stream: drains the feeds' queues into batches, keeps at most `maxUnackedBatches`
 * in flight, and releases a batch's entries (and the operations waiting on them) only when the hub
 * acknowledges that it committed them. While the window is full, changes keep coalescing in the queues.
 */
export class SyncStream {
  private call: SyncChannelCall | undefined;
  private ready = false;
  private closed = false;
  private inFlight: Array<AckedBatch & { sentAt: number }> = [];
  private nextSeq = 1n;
  private cursor = 0;
  private pumpScheduled = false;
  private readonly window: SendWindow;
  private readonly wake = () => this.schedulePump();

  constructor(private readonly options: SyncStreamOptions) {
    this.window = options.window ?? processSendWindow;
  }

  start(): void {
    const call = this.options.open();
    this.call = call;
    call.on('data', (response: SyncResponse) => this.onResponse(response));
    call.on('error', (err: Error) => this.close(`sync stream error: ${errorMessage(err)}`));
    call.on('end', () => this.close('sync stream ended by the hub'));
    call.write(create(SyncRequestSchema, { kind: { case: 'open', value: { sessionId: this.options.sessionId, account: this.options.account } } }));
  }

  get unacked(): number {
    return this.inFlight.length;
  }

  /** Something became pending: send it soon (same tick arrivals share one batch). */
  schedulePump(): void {
    if (this.pumpScheduled || !this.ready || this.closed) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ready = false;
    this.window.forget(this.wake);
    // What the hub did not acknowledge goes back to the queues, ahead of newer changes. Oldest first: a
    // feed's oldest lease takes its later ones back with it, so they are put back together, in order.
    const lost = this.inFlight;
    this.inFlight = [];
    for (const batch of lost) {
      this.window.release(batch.bytes);
      for (const part of batch.parts) part.lease.requeue();
    }
    try {
      this.call?.end();
      this.call?.cancel();
    } catch {
      // The call is already gone; nothing left to release.
    }
    this.options.onClosed(reason);
  }

  private onResponse(response: SyncResponse): void {
    switch (response.kind.case) {
      case 'ready':
        this.ready = true;
        this.options.onReady(response.kind.value.resume);
        this.schedulePump();
        return;
      case 'ack': {
        const seq = response.kind.value.seq;
        const batch = this.inFlight[0];
        if (!batch || batch.seq !== seq) {
          this.close(`hub acknowledged batch ${seq} but the oldest unacknowledged batch is ${batch?.seq ?? 'none'}`);
          return;
        }
        this.inFlight.shift();
        this.window.release(batch.bytes);
        const divergences = response.kind.value.divergences;
        for (const part of batch.parts) {
          part.lease.ack();
          if (part.lease.entries.some((e) => e.type === 'digest')) {
            const id = feedId(part.queue.feed);
            this.options.onDigestCompared?.(
              part.queue,
              divergences.find((d) => d.feed !== undefined && feedId(d.feed) === id),
            );
          }
        }
        this.options.onBatchAcked?.(batch, Date.now() - batch.sentAt);
        this.schedulePump();
        return;
      }
      case 'refusal':
        this.options.logger.warn(
          { account: this.options.account, code: response.kind.value.code },
          `hub refused the sync stream: ${response.kind.value.message}`,
        );
        this.close(`refused: ${response.kind.value.code}`);
        return;
      default:
        return;
    }
  }

  private pump(): void {
    if (!this.ready || this.closed || !this.call) return;
    const queues = this.options.queues();
    if (queues.length === 0) return;
    const { maxBatchBytes, maxBatchChanges, maxUnackedBatches } = this.options.limits;
    while (this.inFlight.length < maxUnackedBatches) {
      const maxBytes = this.window.room(maxBatchBytes, this.wake);
      if (maxBytes <= 0) return;
      const batch = buildBatch(this.nextSeq, queues, this.cursor, { maxBytes, maxChanges: maxBatchChanges });
      if (!batch) return;
      this.window.acquire(batch.bytes);
      this.cursor = (this.cursor + 1) % queues.length;
      this.nextSeq++;
      const { request, ...sent } = batch;
      // Only what is needed to acknowledge or requeue the batch stays: not its encoded bytes.
      this.inFlight.push({ ...sent, sentAt: Date.now() });
      this.call.write(request);
    }
  }
}
