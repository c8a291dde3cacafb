import type { Readable } from 'node:stream';

/**
 * Buffers list pages are read into, reused from page to page.
 *
 * A page's body arrives as chunks, each a view of a buffer the HTTP/2 session read from the socket.
 * Kept until the page was complete, those buffers outlived two young-generation collections on a busy
 * initial sync, were promoted, and every 64 MiB of them made V8 start a full collection ("external
 * memory pressure") that marked the agent's whole heap (docs/performance.md, "scale"). Copied into a
 * reused buffer as they arrive, the chunks die young; the reused buffers are allocated once.
 *
 * An idle buffer still holds its last page's bytes (a Secret's values among them) until a later page
 * overwrites it, as the chunks did until they were collected; nothing reads them.
 */

/** Size of a new page buffer; it doubles while a page does not fit. */
export const PAGE_BUFFER_INITIAL_BYTES = 256 * 1024;
/**
 * Idle buffers kept for the next pages: most of the lists that run at once (the agent's list budget,
 * `tasks.totalBudget`, is 50 by default), so that a busy sync allocates few after its first pages.
 */
export const MAX_IDLE_PAGE_BUFFERS = 32;
/** A buffer grown beyond this (an unusually large page) is not kept: 32 idle ones hold at most 64 MiB. */
export const MAX_KEPT_PAGE_BUFFER_BYTES = 2 * 1024 * 1024;

/** A page's bytes: `buffer[0, bytes)`, to be handed back with `release` once decoded. */
export interface PageBody {
  buffer: Buffer;
  bytes: number;
}

export class PageBuffers {
  private readonly idle: Buffer[] = [];

  /** Reads `stream` to its end into a buffer of the pool; on failure the buffer goes back. */
  async read(stream: Readable): Promise<PageBody> {
    let buffer = this.idle.pop() ?? Buffer.allocUnsafeSlow(PAGE_BUFFER_INITIAL_BYTES);
    let bytes = 0;
    try {
      for await (const chunk of stream) {
        const data = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
        if (bytes + data.length > buffer.length) {
          let size = buffer.length * 2;
          while (size < bytes + data.length) size *= 2;
          const larger = Buffer.allocUnsafeSlow(size);
          buffer.copy(larger, 0, 0, bytes);
          buffer = larger;
        }
        buffer.set(data, bytes);
        bytes += data.length;
      }
    } catch (err) {
      this.release(buffer);
      throw err;
    }
    return { buffer, bytes };
  }

  /** Hands a page's buffer back: its bytes may be overwritten by the next page from now on. */
  release(buffer: Buffer): void {
    if (buffer.length > MAX_KEPT_PAGE_BUFFER_BYTES || this.idle.length >= MAX_IDLE_PAGE_BUFFERS) return;
    this.idle.push(buffer);
  }

  /** Idle buffers (tests). */
  get idleCount(): number {
    return this.idle.length;
  }
}
