import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { Socket } from 'node:net';
import type { BenchProcess } from './processes.ts';
import { poll } from './processes.ts';

/**
 * Forces a full garbage collection in another Node.js process started with `--inspect=127.0.0.1:0`,
 * through the inspector's `HeapProfiler.collectGarbage` — so that the memory measured afterwards is
 * what the process retains, not what its last burst of work left for a collection that has not run.
 * A minimal WebSocket client (one request, one answer), so no dependency is needed on Node 20.
 */
export const INSPECT_ARG = '--inspect=127.0.0.1:0';

const DEBUGGER_LINE = /Debugger listening on (ws:\/\/\S+)/;

/** The inspector's WebSocket URL, from the line Node writes to stderr at start. */
export async function inspectorUrl(proc: BenchProcess, timeoutMs: number): Promise<string> {
  return poll(() => DEBUGGER_LINE.exec(proc.output())?.[1], { timeoutMs, what: `the inspector URL of ${proc.name}`, alive: () => proc.assertRunning() });
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

/** Splits complete (unmasked, server-sent) frames off the front of `buffer`. */
function decodeFrames(buffer: Buffer): { frames: Array<{ opcode: number; payload: Buffer }>; rest: Buffer } {
  const frames: Array<{ opcode: number; payload: Buffer }> = [];
  let offset = 0;
  for (;;) {
    if (buffer.length - offset < 2) break;
    const opcode = buffer[offset]! & 0x0f;
    let length = buffer[offset + 1]! & 0x7f;
    let start = offset + 2;
    if (length === 126) {
      if (buffer.length - offset < 4) break;
      length = buffer.readUInt16BE(offset + 2);
      start = offset + 4;
    } else if (length === 127) {
      if (buffer.length - offset < 10) break;
      length = Number(buffer.readBigUInt64BE(offset + 2));
      start = offset + 10;
    }
    if (buffer.length < start + length) break;
    frames.push({ opcode, payload: buffer.subarray(start, start + length) });
    offset = start + length;
  }
  return { frames, rest: buffer.subarray(offset) };
}

/** Sends one DevTools-protocol command and resolves with its result. */
async function inspectorCommand(wsUrl: string, method: string, timeoutMs: number): Promise<unknown> {
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
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`inspector ${method} did not answer within ${timeoutMs} ms`)), timeoutMs);
      let pending: Buffer = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        const decoded = decodeFrames(Buffer.concat([pending, chunk]));
        pending = decoded.rest;
        for (const frame of decoded.frames) {
          if (frame.opcode !== 0x1) continue;
          const message = JSON.parse(frame.payload.toString('utf8')) as { id?: number; result?: unknown; error?: { message: string } };
          if (message.id !== 1) continue;
          clearTimeout(timer);
          if (message.error) reject(new Error(`inspector ${method}: ${message.error.message}`));
          else resolve(message.result);
        }
      });
      socket.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.write(encodeTextFrame(JSON.stringify({ id: 1, method })));
    });
  } finally {
    socket.destroy();
  }
}

/** A full, memory-reducing garbage collection in the inspected process. */
export async function collectGarbage(wsUrl: string, timeoutMs = 60_000): Promise<void> {
  await inspectorCommand(wsUrl, 'HeapProfiler.collectGarbage', timeoutMs);
}
