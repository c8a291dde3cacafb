/**
 * Reusable buffers for large response bodies (lists). Written as strings, every chunk of a list became
 * a fresh native buffer inside Node's stream code, after a separate pass over it for the content-length.
 * Encoding the chunks into buffers that are allocated once and handed back after their write does both in
 * one pass and allocates nothing per response; with it the sim's CPU while serving an initial sync fell
 * by about a third and its full garbage collections from 14 to 8 at 300 clusters. (The full collections
 * left come from TLS output buffers Node reports as external memory, not from these; see
 * docs/performance.md, "scale".)
 */

/** Size of one pooled buffer: a few list chunks (LIST_CHUNK_CHARS) each. */
export const RESPONSE_BUFFER_BYTES = 128 * 1024;
/**
 * Idle buffers kept for reuse (64 MiB); more than that in flight at once are let go to the garbage
 * collector when their writes finish, so a burst does not pin its peak forever.
 */
export const MAX_IDLE_RESPONSE_BUFFERS = 512;

const encoder = new TextEncoder();

/** One encoded body: the filled part of each buffer in order, and the buffers to hand back after writing. */
export interface EncodedBody {
  readonly parts: Buffer[];
  readonly byteLength: number;
  /** Returns part `index`'s buffer to the pool; call once, after its write completed. */
  release(index: number): void;
}

export class ResponseBufferPool {
  private readonly idle: Buffer[] = [];

  /** Buffers currently idle in the pool (for tests and diagnostics). */
  get idleCount(): number {
    return this.idle.length;
  }

  /** Encodes `chunks` as UTF-8 into pooled buffers; chunks may span buffers. */
  encode(chunks: readonly string[]): EncodedBody {
    const buffers: Buffer[] = [];
    const parts: Buffer[] = [];
    let current = this.take();
    let offset = 0;
    let byteLength = 0;
    for (const chunk of chunks) {
      let rest = chunk;
      for (;;) {
        const { read, written } = encoder.encodeInto(rest, current.subarray(offset));
        offset += written;
        byteLength += written;
        if (read === rest.length) break;
        // Full (encodeInto never splits a character): continue the rest of the chunk in a new buffer.
        rest = rest.slice(read);
        buffers.push(current);
        parts.push(current.subarray(0, offset));
        current = this.take();
        offset = 0;
      }
    }
    buffers.push(current);
    parts.push(current.subarray(0, offset));
    const released = new Array<boolean>(buffers.length).fill(false);
    return {
      parts,
      byteLength,
      release: (index: number) => {
        if (released[index] !== false) return;
        released[index] = true;
        this.give(buffers[index]!);
      },
    };
  }

  private take(): Buffer {
    // allocUnsafeSlow: a buffer of its own, not a slice of Node's shared pool that others may hold.
    return this.idle.pop() ?? Buffer.allocUnsafeSlow(RESPONSE_BUFFER_BYTES);
  }

  private give(buffer: Buffer): void {
    if (this.idle.length < MAX_IDLE_RESPONSE_BUFFERS) this.idle.push(buffer);
  }
}
