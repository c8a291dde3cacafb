import { EventEmitter } from 'node:events';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import {
  channelRequestWireSize,
  encodeSharedSyncRequest,
  MAX_CHANNEL_REQUESTS_PER_MESSAGE,
  preEncoded,
  SharedSyncRequestSchema,
  SyncRequestSchema,
  wireBytes,
  type ChannelRequestPart,
  type SharedSyncRequest,
  type SharedSyncResponse,
  type SyncRequest,
} from '../../protocol/index.ts';
import type { SyncChannelCall } from '../sync/sync-stream.ts';

/**
 * A SharedSync message is written once it holds this much: large enough that the one-change batches of
 * thousands of accounts share one message, and below gRPC's 8 MiB message limit (GRPC_MAX_MESSAGE_BYTES)
 * with room for one more full batch (1 MiB by default) added before the check.
 */
export const SHARED_SYNC_MESSAGE_BYTES = 4 * 1024 * 1024;

export interface SharedSyncOptions {
  /** Opens the gRPC call (with the session's current credentials). */
  open: () => ClientDuplexStream<SharedSyncRequest, SharedSyncResponse>;
  /**
   * How long a written request may wait for others to share its message (clouddriver.syncCoalesceMs);
   * 0 = only those written in the same turn of the event loop.
   */
  coalesceMs: number;
  logger: Logger;
}

/**
 * Protocol version 2 on the agent: one SharedSync call per session carries the sync channel of every
 * account. Each account's SyncStream talks to its channel exactly as it would to a version 1 Sync
 * stream; what the channels write within the coalescing delay leaves as one message, and the hub's
 * replies for many channels arrive in one. Channel numbers only grow within a call.
 */
export class SharedSync {
  private call: ClientDuplexStream<SharedSyncRequest, SharedSyncResponse> | undefined;
  private readonly channels = new Map<number, SharedSyncChannel>();
  private nextChannel = 1;
  private parts: ChannelRequestPart[] = [];
  private partBytes = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private flushImmediate: NodeJS.Immediate | undefined;
  private closed = false;
  /** Messages written, and channel requests in them (the coalescing the admin page and tests read). */
  messagesSent = 0;
  requestsSent = 0;

  constructor(private readonly options: SharedSyncOptions) {}

  /** A new channel for one account; the gRPC call opens with the first channel (again after it ended). */
  openChannel(): SyncChannelCall {
    if (this.closed) throw new Error('the shared sync stream of this session is closed');
    if (this.call === undefined) this.openCall();
    const channel = new SharedSyncChannel(this.nextChannel++, this);
    this.channels.set(channel.id, channel);
    return channel;
  }

  /** The session ended: every channel ends with it (their SyncStreams requeue what is unacknowledged). */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    const call = this.call;
    this.endCall(new Error(reason));
    try {
      call?.cancel();
    } catch {
      // Already gone.
    }
  }

  write(channel: SharedSyncChannel, request: SyncRequest): void {
    if (this.channels.get(channel.id) !== channel) return;
    this.add({ channel: channel.id, request: wireBytes(SyncRequestSchema, request) });
  }

  /** The account's SyncStream closed its channel: the hub answers what came before and forgets it. */
  closeChannel(channel: SharedSyncChannel): void {
    if (this.channels.get(channel.id) !== channel) return;
    this.channels.delete(channel.id);
    this.add({ channel: channel.id, close: true });
  }

  /**
   * The account's SyncStream cancelled its channel (SyncStream.close): as a cancelled version 1 call drops
   * what it has not sent, the channel's requests still waiting here are dropped — its SyncStream put their
   * batches back in its queues and re-sends them on its next channel, so the hub must not commit them on
   * this one as well (twice, and racing the next channel's) — then the channel is closed.
   */
  cancelChannel(channel: SharedSyncChannel): void {
    const kept = this.parts.filter((part) => part.channel !== channel.id || part.close === true);
    if (kept.length !== this.parts.length) {
      this.parts = kept;
      this.partBytes = 0;
      for (const part of kept) this.partBytes += channelRequestWireSize(part);
    }
    this.closeChannel(channel);
  }

  private add(part: ChannelRequestPart): void {
    const size = channelRequestWireSize(part);
    if (this.parts.length > 0 && (this.partBytes + size > SHARED_SYNC_MESSAGE_BYTES || this.parts.length >= MAX_CHANNEL_REQUESTS_PER_MESSAGE)) this.flush();
    this.parts.push(part);
    this.partBytes += size;
    if (this.partBytes >= SHARED_SYNC_MESSAGE_BYTES) {
      this.flush();
      return;
    }
    if (this.flushTimer !== undefined || this.flushImmediate !== undefined) return;
    if (this.options.coalesceMs > 0) this.flushTimer = setTimeout(() => this.flush(), this.options.coalesceMs);
    else this.flushImmediate = setImmediate(() => this.flush());
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    if (this.flushImmediate !== undefined) clearImmediate(this.flushImmediate);
    this.flushTimer = undefined;
    this.flushImmediate = undefined;
    const parts = this.parts;
    if (parts.length === 0) return;
    this.parts = [];
    this.partBytes = 0;
    if (this.call === undefined) return;
    this.messagesSent++;
    this.requestsSent += parts.length;
    this.call.write(preEncoded(SharedSyncRequestSchema, encodeSharedSyncRequest(parts)));
  }

  private openCall(): void {
    const call = this.options.open();
    this.call = call;
    call.on('data', (message: SharedSyncResponse) => {
      if (this.call !== call) return;
      for (const reply of message.responses) {
        const channel = this.channels.get(reply.channel);
        if (channel === undefined) continue;
        if (reply.response !== undefined) channel.emit('data', reply.response);
        if (!reply.closed || this.channels.get(reply.channel) !== channel) continue;
        this.channels.delete(reply.channel);
        if (reply.error !== '') channel.emit('error', new Error(`the hub ended the channel: ${reply.error}`));
        else channel.emit('end');
      }
    });
    call.on('error', (err: Error) => {
      if (this.call === call) this.endCall(new Error(`shared sync stream error: ${errorMessage(err)}`));
    });
    call.on('end', () => {
      if (this.call === call) this.endCall(new Error('the hub ended the shared sync stream'));
    });
  }

  /** The call is gone: its channels end (their streams reopen on a new call), unsent requests with them. */
  private endCall(err: Error): void {
    const call = this.call;
    this.call = undefined;
    clearTimeout(this.flushTimer);
    if (this.flushImmediate !== undefined) clearImmediate(this.flushImmediate);
    this.flushTimer = undefined;
    this.flushImmediate = undefined;
    this.parts = [];
    this.partBytes = 0;
    const channels = [...this.channels.values()];
    this.channels.clear();
    if (channels.length > 0) this.options.logger.debug({ channels: channels.length, reason: err.message }, 'shared sync stream ended');
    for (const channel of channels) channel.emit('error', err);
    try {
      call?.end();
    } catch {
      // Already gone.
    }
  }
}

/** One account's channel: what a SyncStream writes to and hears from, in place of a version 1 Sync call. */
class SharedSyncChannel extends EventEmitter implements SyncChannelCall {
  constructor(
    readonly id: number,
    private readonly shared: SharedSync,
  ) {
    super();
    // A SyncStream listens for 'error'; until it does (and after it closed) an error must not throw.
    this.on('error', () => {});
  }

  write(request: SyncRequest): boolean {
    this.shared.write(this, request);
    return true;
  }

  end(): void {
    this.shared.closeChannel(this);
  }

  cancel(): void {
    this.shared.cancelChannel(this);
  }
}
