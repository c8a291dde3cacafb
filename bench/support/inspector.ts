import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import type { Socket } from 'node:net';
import type { BenchProcess } from './processes.ts';
import { poll } from './processes.ts';

/**
 * Another Node.js process's inspector (the process is started with `--inspect=127.0.0.1:0`): forced
 * garbage collections before memory is measured, and CPU profiles per phase. A minimal WebSocket client,
 * so no dependency is needed on Node 20.
 */
export const INSPECT_ARG = '--inspect=127.0.0.1:0';

const DEBUGGER_LINE = /Debugger listening on (ws:\/\/\S+)/;

/** The inspector's WebSocket URL, from the line Node writes to stderr at start. */
export async function inspectorUrl(proc: BenchProcess, timeoutMs: number): Promise<string> {
  return poll(() => DEBUGGER_LINE.exec(proc.output())?.[1], { timeoutMs, what: `the inspector URL of ${proc.name}`, alive: () => proc.assertRunning() });
}

/**
 * One WebSocket connection to an inspector, carrying DevTools-protocol calls; `startProfile()` …
 * `stopProfile(file)` writes a `.cpuprofile` that Chrome DevTools opens.
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

/**
 * A full, memory-reducing garbage collection in the inspected process (`HeapProfiler.collectGarbage`), so
 * that the memory measured afterwards is what the process retains, not what its last burst of work left
 * for a collection that has not run.
 */
export async function collectGarbage(wsUrl: string, timeoutMs = 60_000): Promise<void> {
  const session = await InspectorSession.connect(wsUrl);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      session.call('HeapProfiler.collectGarbage'),
      new Promise((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`inspector HeapProfiler.collectGarbage did not answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    session.close();
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
