import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/**
 * Kubeconfigs and the certificate files they name. Kubeconfigs with hundreds of contexts and embedded
 * certificates run to a few MiB; anything larger is not a kubeconfig.
 */
export const MAX_KUBECONFIG_FILE_BYTES = 16 * 1024 * 1024;

/** Bytes read per call while reading a file whose size fstat does not tell (files under /proc report 0). */
const READ_CHUNK_BYTES = 64 * 1024;

/**
 * The text of a regular file of at most `maxBytes` bytes. A kubeconfig path can come from a dynamic
 * account definition, written at the hub rather than on the agent's host: a device (/dev/zero,
 * /dev/urandom) would be read until the agent runs out of memory, and a named pipe would hold one of
 * libuv's few file-system threads until something writes to it. The file is opened without blocking
 * and refused unless it is a regular file; it is read only up to the bound. Throws an Error whose
 * message says why (never the file's contents).
 */
export async function readBoundedTextFile(path: string, maxBytes = MAX_KUBECONFIG_FILE_BYTES): Promise<string> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new Error(`not a regular file (${stat.isDirectory() ? 'a directory' : 'a device, pipe or socket'})`);
    if (stat.size > maxBytes) throw new Error(`the file has ${stat.size} bytes; at most ${maxBytes} are read`);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(READ_CHUNK_BYTES, maxBytes + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) throw new Error(`the file has more than ${maxBytes} bytes; at most ${maxBytes} are read`);
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    await handle.close();
  }
}
