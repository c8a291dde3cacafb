import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A directory laid out as the kubelet mounts a ConfigMap or Secret volume: the files live in a
 * timestamped directory, `..data` is a symlink to it and each file is a symlink through `..data`. An
 * update writes a new timestamped directory and swaps `..data` atomically (a rename over the old
 * symlink), as the kubelet's AtomicWriter does; the old directory is then removed. A reader holding a
 * watch on the old file's inode sees nothing change, which is why the agent compares contents instead.
 */
export class ConfigMapDir {
  private generation = 0;
  private current: string | undefined;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  path(file: string): string {
    return join(this.dir, file);
  }

  /** Publishes a new version of every file (name → contents). */
  write(files: Record<string, string>): void {
    const version = `..2026_12_07_${String(++this.generation).padStart(4, '0')}`;
    const versionDir = join(this.dir, version);
    mkdirSync(versionDir);
    for (const [name, contents] of Object.entries(files)) writeFileSync(join(versionDir, name), contents);
    const staging = join(this.dir, '..data_tmp');
    rmSync(staging, { force: true });
    symlinkSync(version, staging);
    renameSync(staging, join(this.dir, '..data'));
    for (const name of Object.keys(files)) if (!existsSync(join(this.dir, name))) symlinkSync(join('..data', name), join(this.dir, name));
    if (this.current !== undefined) rmSync(join(this.dir, this.current), { recursive: true, force: true });
    this.current = version;
  }
}
