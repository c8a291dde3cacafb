import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import type { Socket } from 'node:net';

/**
 * CPU profiles of another Node.js process over its inspector (started with `--inspect=127.0.0.1:0`, see
 * inspector.ts), for one phase at a time: `start()` … `stop(file)` writes a `.cpuprofile` that Chrome
 * DevTools or `node --cpu-prof`'s viewers open. A minimal WebSocket client, as in inspector.ts.
 */
export class InspectorSession {
  private pending: Buffer = Buffer.alloc(0);
  private nextId = 0;
  private readonly waiters = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      for (const w of this.waiters.values()) w.reject(err);
      this.waiters.clear();
    });
  }

  static async connect(wsUrl: string): Promise<InspectorSession> {
    const url = new URL(wsUrl);
    const socket = await new Promise<Socket>((resolve, reject) => {
      const req = request({
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': randomBytes(16).toString('base64'), 'Sec-WebSocket-Version': '13' },
      });
      req.on('upgrade', (_response, upgraded: Socket) => resolve(upgraded));
      req.on('response', (response) => reject(new Error(`inspector at ${wsUrl} refused the WebSocket upgrade (HTTP ${response.statusCode})`)));
      req.on('error', reject);
      req.end();
    });
    return new InspectorSession(socket);
  }

  call<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      this.waiters.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.socket.write(encodeTextFrame(JSON.stringify({ id, method, params })));
    });
  }

  /** Starts sampling (1 ms interval). */
  async startProfile(): Promise<void> {
    await this.call('Profiler.enable');
    await this.call('Profiler.setSamplingInterval', { interval: 1000 });
    await this.call('Profiler.start');
  }

  /** Stops sampling and writes the profile to `path`. */
  async stopProfile(path: string): Promise<void> {
    const result = await this.call<{ profile: unknown }>('Profiler.stop');
    writeFileSync(path, JSON.stringify(result.profile));
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    for (;;) {
      const buffer = this.pending;
      if (buffer.length < 2) return;
      let length = buffer[1]! & 0x7f;
      let start = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        start = 4;
      } else if (length === 127) {
        if (buffer.length < 10) return;
        length = Number(buffer.readBigUInt64BE(2));
        start = 10;
      }
      if (buffer.length < start + length) return;
      const opcode = buffer[0]! & 0x0f;
      const payload = buffer.subarray(start, start + length);
      this.pending = buffer.subarray(start + length);
      if (opcode !== 0x1) continue;
      const message = JSON.parse(payload.toString('utf8')) as { id?: number; result?: unknown; error?: { message: string } };
      const waiter = message.id === undefined ? undefined : this.waiters.get(message.id);
      if (!waiter) continue;
      this.waiters.delete(message.id!);
      if (message.error) waiter.reject(new Error(message.error.message));
      else waiter.resolve(message.result);
    }
  }
}

function encodeTextFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const mask = randomBytes(4);
  let header: Buffer;
  if (payload.length < 126) {
    header = Buffer.from([0x81, 0x80 | payload.length]);
  } else if (payload.length < 65536) {
    header = Buffer.alloc(4);
    header[0] = 0x81;
    header[1] = 0x80 | 126;
    header.writeUInt16BE(payload.length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x81;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  const masked = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) masked[i] = payload[i]! ^ mask[i % 4]!;
  return Buffer.concat([header, mask, masked]);
}
