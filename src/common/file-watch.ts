import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

/**
 * Polls files for changes of their contents. Polling, not fs.watch: Kubernetes updates a mounted Secret
 * by swapping a symlink (`..data`), which inotify watches on the old target miss, and certificate
 * rotations often keep a file's size. Certificate files are a few kilobytes, so reading them every few
 * seconds costs nothing.
 */
export class FilePoller {
  private timer: NodeJS.Timeout | undefined;
  private last: string;

  constructor(
    private readonly paths: readonly string[],
    private readonly intervalMs: number,
    private readonly onChange: () => void,
  ) {
    this.last = contentsDigest(paths);
  }

  start(): this {
    if (this.timer || this.intervalMs <= 0 || this.paths.length === 0) return this;
    this.timer = setInterval(() => this.check(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  /** Compares the files with what was seen last; calls onChange once per change. */
  check(): boolean {
    const now = contentsDigest(this.paths);
    if (now === this.last) return false;
    this.last = now;
    this.onChange();
    return true;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * Files larger than this are compared by size, modification time and inode instead of being read
 * every interval (a configuration or a certificate is kilobytes; a file of hundreds of MiB put in
 * its place would otherwise be read and hashed on the event loop every second).
 */
export const MAX_COMPARED_FILE_BYTES = 4 * 1024 * 1024;

/**
 * SHA-256 over the files' contents in order (a missing or unreadable file counts as its own state; so
 * does a file that is not a regular one, which is never read: a named pipe would block the event loop).
 */
export function contentsDigest(paths: readonly string[]): string {
  const hash = createHash('sha256');
  for (const path of paths) {
    try {
      const stat = statSync(path);
      if (!stat.isFile() || stat.size > MAX_COMPARED_FILE_BYTES) {
        hash.update(`${path}\0${stat.isFile() ? 'large' : 'special'}:${stat.size}:${stat.mtimeMs}:${stat.ino}:${stat.mode}`);
        continue;
      }
      const bytes = readFileSync(path);
      hash.update(`${path}\0${bytes.length}\0`);
      hash.update(bytes);
    } catch (err) {
      hash.update(`${path}\0unreadable:${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  return hash.digest('hex');
}
