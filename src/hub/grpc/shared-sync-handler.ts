import { EventEmitter } from 'node:events';
import { create } from '@bufbuild/protobuf';
import { status as GrpcStatus, type ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from '../../common/logger.ts';
import { Errors, errorMessage } from '../../common/errors.ts';
import {
  ChannelResponseSchema,
  SharedSyncResponseSchema,
  type ChannelResponse,
  type SharedSyncRequest,
  type SharedSyncResponse,
  type SyncRequest,
  type SyncResponse,
} from '../../protocol/index.ts';
import { authenticateCall, type Authentication, type IdentityAuthorizer } from './identities.ts';
import type { SyncCall, SyncHandler } from './sync-handler.ts';
import { batchBytes, ownObjects } from './batch-memory.ts';

/**
 * Memory of batches one SharedSync stream may have received and not yet committed, as batch-memory.ts
 * counts it, before the hub stops reading the stream (HTTP/2 flow control then holds the agent back
 * until commits free some). An agent keeps at most its send window (4 MiB of wire bytes by default,
 * send-window.ts) unacknowledged: for upserts of ordinary objects that is well below this; a window
 * full of small deletes or touches, which take several times their wire size once decoded, can reach it
 * and is then paced, not refused.
 */
export const MAX_PENDING_BYTES_PER_STREAM = 64 * 1024 * 1024;
/** Channels one SharedSync stream may hold open at once: far above any agent's accounts. */
export const MAX_OPEN_CHANNELS_PER_STREAM = 50_000;

export interface SharedSyncHandlerOptions {
  /** Serves each channel exactly as it serves a version 1 Sync stream. */
  sync: Pick<SyncHandler, 'handleChannel'>;
  logger: Logger;
  authorizer?: IdentityAuthorizer;
  /** Batches one channel may have unacknowledged (the Welcome's limit); more is a protocol violation. */
  maxUnackedBatches: number;
}

/**
 * Protocol version 2: one SharedSync stream per agent session carries every account's sync channel.
 * Each channel is served by the SyncHandler as a version 1 stream would be — open, resume points, batches
 * committed strictly in order and acknowledged after their commit — so per-account order, fencing and
 * refusals are unchanged; what changes is that the batches of many accounts arrive in one message and
 * go to the store together (one group commit), and their acknowledgements leave in one reply.
 */
export class SharedSyncHandler {
  constructor(private readonly options: SharedSyncHandlerOptions) {}

  handle(call: ServerDuplexStream<SharedSyncRequest, SharedSyncResponse>): void {
    const { authorizer, logger } = this.options;
    const authentication = authorizer ? authenticateCall(authorizer, call) : undefined;
    if (authentication !== undefined && !authentication.ok) {
      logger.warn({ peer: call.getPeer(), code: authentication.code }, `refusing a shared sync stream: ${authentication.message}`);
      call.emit(
        'error',
        Object.assign(new Error(authentication.message), { code: GrpcStatus.UNAUTHENTICATED, details: `${authentication.code}: ${authentication.message}` }),
      );
      return;
    }
    new SharedSyncStream(call, authentication, this.options).start();
  }
}

/** One SharedSync call: its channels, its pending bytes, and the replies waiting to be written together. */
class SharedSyncStream {
  private readonly channels = new Map<number, SyncChannel>();
  /** The latest channel opened for each account (to hold a replacement until its predecessor ended). */
  private readonly accountChannels = new Map<string, SyncChannel>();
  /** Channel numbers only grow: a request for a lower number whose channel is gone is a leftover, ignored. */
  private highestChannel = 0;
  private replies: ChannelResponse[] = [];
  private flushScheduled = false;
  private pendingBytes = 0;
  private paused = false;
  private ended = false;
  private agentDone = false;

  constructor(
    private readonly call: ServerDuplexStream<SharedSyncRequest, SharedSyncResponse>,
    private readonly authentication: Authentication | undefined,
    private readonly options: SharedSyncHandlerOptions,
  ) {}

  start(): void {
    const { call } = this;
    call.on('data', (message: SharedSyncRequest) => {
      try {
        for (const request of message.requests) this.onRequest(request.channel, request.request, request.close);
      } catch (err) {
        this.fail(errorMessage(err));
      }
    });
    // The agent half-closed: every channel answers what it was sent, then the stream ends.
    call.on('end', () => {
      this.agentDone = true;
      for (const channel of [...this.channels.values()]) channel.agentClosed();
      this.endIfDone();
    });
    call.on('error', (err: Error) => {
      this.options.logger.debug({ err: errorMessage(err) }, 'shared sync stream error');
      this.abandon(err);
    });
    call.on('close', () => this.abandon(new Error('the shared sync stream closed')));
  }

  private onRequest(id: number, request: SyncRequest | undefined, close: boolean): void {
    if (this.ended) return;
    const existing = this.channels.get(id);
    if (close) {
      existing?.agentClosed();
      return;
    }
    if (request === undefined) throw new Error(`channel ${id}: a request that is neither a sync request nor a close`);
    if (existing !== undefined) {
      existing.receive(request);
      return;
    }
    // A channel the hub already ended (a refusal, a failed commit) may still get what the agent sent
    // before it heard: that goes nowhere.
    if (id <= this.highestChannel) return;
    if (this.channels.size >= MAX_OPEN_CHANNELS_PER_STREAM)
      throw new Error(`the agent opened more than ${MAX_OPEN_CHANNELS_PER_STREAM} channels on one shared sync stream`);
    this.highestChannel = id;
    const channel = new SyncChannel(id, this);
    this.channels.set(id, channel);
    const account = request.kind.case === 'open' ? request.kind.value.account : undefined;
    const previous = account === undefined ? undefined : this.accountChannels.get(account);
    if (account !== undefined) {
      channel.account = account;
      this.accountChannels.set(account, channel);
    }
    if (previous !== undefined && this.channels.get(previous.id) === previous) {
      // The agent replaced the account's channel (it closed the previous one and re-sends what that one
      // had unacknowledged): the new one starts once the previous one has committed what it took, so
      // that two channels of one account never commit side by side, an older state landing last.
      channel.waitFor(previous, request);
      return;
    }
    this.startChannel(channel, request);
  }

  private startChannel(channel: SyncChannel, first: SyncRequest): void {
    channel.served = true;
    this.options.sync.handleChannel(channel, this.authentication);
    channel.receive(first);
  }

  /** A reply of channel `id`; replies written in one turn of the event loop leave as one message. */
  reply(response: ChannelResponse): void {
    if (this.ended) return;
    this.replies.push(response);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.ended || this.replies.length === 0) return;
    const responses = this.replies;
    this.replies = [];
    this.call.write(create(SharedSyncResponseSchema, { responses }));
    this.endIfDone();
  }

  channelEnded(channel: SyncChannel): void {
    if (this.channels.get(channel.id) === channel) this.channels.delete(channel.id);
    // A channel that ended while it still waited (a violation) leaves its place in line to the channel
    // it waited for, which is still committing: a later channel of the account must wait for that one.
    const waitedFor = channel.predecessor !== undefined && this.channels.get(channel.predecessor.id) === channel.predecessor ? channel.predecessor : undefined;
    if (channel.account !== undefined && this.accountChannels.get(channel.account) === channel) {
      if (waitedFor !== undefined) this.accountChannels.set(channel.account, waitedFor);
      else this.accountChannels.delete(channel.account);
    }
    const successor = channel.successor;
    channel.successor = undefined;
    // The stream is ending: every channel ends with it, none starts.
    if (successor !== undefined && !this.ended && this.channels.get(successor.id) === successor) {
      if (waitedFor !== undefined) {
        waitedFor.successor = successor;
        successor.predecessor = waitedFor;
      } else {
        const held = successor.release();
        if (held !== undefined) {
          this.startChannel(successor, held.first);
          for (const request of held.rest) successor.receive(request);
          if (held.closed) successor.agentClosed();
        }
      }
    }
    this.endIfDone();
  }

  /** Requests a held channel may collect: its open's batches can be no more than the unacknowledged limit. */
  get maxHeldRequests(): number {
    return this.options.maxUnackedBatches + 1;
  }

  pending(delta: number, channel: SyncChannel): void {
    this.pendingBytes += delta;
    if (channel.unacked > this.options.maxUnackedBatches) {
      channel.violated(`${Errors.PROTOCOL_VIOLATION.code}: more than ${this.options.maxUnackedBatches} unacknowledged batches on one channel`);
      return;
    }
    if (!this.paused && this.pendingBytes > MAX_PENDING_BYTES_PER_STREAM) {
      this.paused = true;
      this.call.pause();
    } else if (this.paused && this.pendingBytes <= MAX_PENDING_BYTES_PER_STREAM / 2) {
      this.paused = false;
      this.call.resume();
    }
  }

  private endIfDone(): void {
    if (!this.agentDone || this.ended || this.channels.size > 0 || this.flushScheduled) return;
    this.ended = true;
    if (!this.call.writableEnded) this.call.end();
  }

  private fail(details: string): void {
    if (this.ended) return;
    this.options.logger.warn({ peer: this.call.getPeer() }, `ending a shared sync stream: ${details}`);
    this.abandon(new Error(details));
    this.call.emit('error', Object.assign(new Error(details), { code: GrpcStatus.INVALID_ARGUMENT, details }));
  }

  /** The call is gone (or failed): every channel stops; what it did not acknowledge the agent re-sends. */
  private abandon(err: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.replies = [];
    for (const channel of this.channels.values()) channel.abandon(err);
    this.channels.clear();
  }
}

/** One account's channel inside a SharedSync stream, as the SyncHandler serves it. */
class SyncChannel extends EventEmitter implements SyncCall {
  writableEnded = false;
  /** Batches received and not yet acknowledged. */
  unacked = 0;
  private readonly pendingSizes: number[] = [];
  private closedByAgent = false;

  constructor(
    readonly id: number,
    private readonly stream: SharedSyncStream,
  ) {
    super();
  }

  /** The account its open named (undefined when its first request was not an open: it is refused). */
  account: string | undefined;
  /** A channel of the same account opened after this one, held until this one ends. */
  successor: SyncChannel | undefined;
  /** The channel this one waits for (set while it is held). */
  predecessor: SyncChannel | undefined;
  /** Handed to the SyncHandler, which listens to it from then on. */
  served = false;
  /** While this channel waits for its predecessor: what the agent sent it so far, in order. */
  private held: { first: SyncRequest; rest: SyncRequest[]; closed: boolean } | undefined;
  /** What the held batches count against the stream's budget. */
  private heldBytes = 0;

  waitFor(previous: SyncChannel, first: SyncRequest): void {
    previous.successor = this;
    this.predecessor = previous;
    this.held = { first, rest: [], closed: false };
  }

  /** The predecessor ended: what was held, to be served now (undefined when nothing was held). */
  release(): { first: SyncRequest; rest: SyncRequest[]; closed: boolean } | undefined {
    const held = this.held;
    this.predecessor = undefined;
    this.dropHeld();
    return held;
  }

  /** Forgets what was held, and the bytes it counted. */
  private dropHeld(): void {
    this.held = undefined;
    const bytes = this.heldBytes;
    this.heldBytes = 0;
    if (bytes > 0) this.stream.pending(-bytes, this);
  }

  receive(request: SyncRequest): void {
    if (this.held !== undefined) {
      // An agent keeps at most maxUnackedBatches in flight; one that sends more to a held channel is misbehaving.
      if (this.held.rest.length >= this.stream.maxHeldRequests)
        this.violated(`${Errors.PROTOCOL_VIOLATION.code}: more requests than allowed on a channel waiting for its predecessor`);
      else {
        ownObjects(request);
        this.held.rest.push(request);
        // Held batches hold memory too: counted until the channel starts (and counts them as received).
        const bytes = batchBytes(request);
        this.heldBytes += bytes;
        this.stream.pending(bytes, this);
      }
      return;
    }
    if (this.writableEnded || this.closedByAgent) return;
    if (request.kind.case === 'batch') {
      ownObjects(request);
      const bytes = batchBytes(request);
      this.pendingSizes.push(bytes);
      this.unacked++;
      this.stream.pending(bytes, this);
      if (this.writableEnded) return;
    }
    this.emit('data', request);
  }

  agentClosed(): void {
    if (this.held !== undefined) {
      this.held.closed = true;
      return;
    }
    if (this.closedByAgent) return;
    this.closedByAgent = true;
    this.emit('end');
  }

  write(response: SyncResponse): boolean {
    if (this.writableEnded) return false;
    if (response.kind.case === 'ack') this.settle(1);
    // After the agent closed the channel it reads nothing more of it: acks still settle the bytes.
    if (!this.closedByAgent) this.stream.reply(create(ChannelResponseSchema, { channel: this.id, response }));
    return true;
  }

  end(): void {
    this.finish(undefined);
  }

  fail(details: string): void {
    this.finish(details);
  }

  /**
   * The stream ends the channel for its agent's misbehaviour: the agent hears why, and the SyncHandler
   * stops as on a transport error — the batches it queued are not committed (the agent re-sends them on
   * a new channel, which must not race this one's commits), and their bytes, which settle() just released,
   * are no longer held.
   */
  violated(details: string): void {
    if (this.writableEnded) return;
    this.dropHeld();
    this.finish(details);
    // A held channel was never handed to the SyncHandler: nothing listens to it yet.
    if (this.listenerCount('error') > 0) this.emit('error', new Error(details));
  }

  abandon(err: Error): void {
    if (this.writableEnded) return;
    if (!this.served) {
      // Never handed to the SyncHandler (held, or released as the stream ended): nothing listens to it.
      this.dropHeld();
      this.writableEnded = true;
      return;
    }
    this.finish(undefined, false);
    this.emit('error', err);
  }

  private finish(error: string | undefined, tell = true): void {
    if (this.writableEnded) return;
    this.writableEnded = true;
    this.settle(this.pendingSizes.length);
    if (tell && !this.closedByAgent) this.stream.reply(create(ChannelResponseSchema, { channel: this.id, closed: true, error: error ?? '' }));
    this.stream.channelEnded(this);
  }

  /** The oldest `count` pending batches no longer hold the stream's bytes. */
  private settle(count: number): void {
    let bytes = 0;
    for (let i = 0; i < count && this.pendingSizes.length > 0; i++) bytes += this.pendingSizes.shift()!;
    this.unacked = Math.max(0, this.unacked - count);
    if (bytes > 0) this.stream.pending(-bytes, this);
  }
}
