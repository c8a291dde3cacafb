import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The repository root: children run from here so that `--import tsx` and relative paths resolve. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The CLI entry point, so the hub and agent run exactly as `scale-agent hub|agent` does. */
export const CLI_ENTRY = fileURLToPath(new URL('../../bin/scale-agent.js', import.meta.url));
/** How long a child gets after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 10_000;
/** Output kept per child, for error messages. */
const KEPT_OUTPUT_CHARS = 32 * 1024;

/** One child process of a benchmark: its output as lines, parsed JSON lines, and a way to stop it. */
export class BenchProcess {
  private readonly events = new EventEmitter();
  private kept = '';
  private exitCode: number | null | undefined;
  readonly exited: Promise<number | null>;
  readonly startedAt = performance.now();

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    this.events.setMaxListeners(0);
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        this.kept = (this.kept + line + '\n').slice(-KEPT_OUTPUT_CHARS);
        this.events.emit('line', line);
      });
    }
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        resolve(this.exitCode);
      });
      child.on('error', (err) => {
        this.kept += `spawn error: ${err.message}\n`;
        this.exitCode = -1;
        resolve(-1);
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} has no pid (it failed to start)`);
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** The last lines the process wrote (stdout and stderr), for diagnostics. */
  output(): string {
    return this.kept;
  }

  onLine(listener: (line: string) => void): () => void {
    this.events.on('line', listener);
    return () => this.events.off('line', listener);
  }

  /** Throws (with the tail of the output) when the process has exited. */
  assertRunning(): void {
    if (!this.running)
      throw new Error(`${this.name} exited unexpectedly (code ${this.exitCode});\n--- last output of ${this.name} ---\n${this.kept.slice(-4000)}`);
  }

  /**
   * Resolves with the first JSON line (written from now on) that `match` accepts; rejects when the
   * process exits first or after `timeoutMs`.
   */
  waitForJson<T = Record<string, any>>(match: (record: Record<string, any>) => boolean, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const done = (err: Error | undefined, value?: T) => {
        clearTimeout(timer);
        off();
        if (err) reject(err);
        else resolve(value as T);
      };
      const off = this.onLine((line) => {
        if (!line.startsWith('{')) return;
        let record: Record<string, any>;
        try {
          record = JSON.parse(line) as Record<string, any>;
        } catch {
          return;
        }
        if (match(record)) done(undefined, record as T);
      });
      const timer = setTimeout(
        () => done(new Error(`timed out after ${timeoutMs} ms waiting for ${what};\n--- last output of ${this.name} ---\n${this.kept.slice(-4000)}`)),
        timeoutMs,
      );
      void this.exited.then((code) =>
        done(new Error(`${this.name} exited (code ${code}) while waiting for ${what};\n--- last output of ${this.name} ---\n${this.kept.slice(-4000)}`)),
      );
    });
  }

  /** Writes one line to the child's stdin (children that take commands). */
  send(line: string): void {
    this.child.stdin?.write(line + '\n');
  }

  /** SIGTERM, then SIGKILL after a grace period; resolves when the process has exited. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
    this.child.kill(signal);
    await this.exited;
    clearTimeout(timer);
  }

  killNow(): void {
    if (this.running) this.child.kill('SIGKILL');
  }
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  /** Pipe stdin (children that take commands; they exit when it closes). */
  stdin?: boolean;
  /** Options for node itself, before the script (e.g. --inspect). */
  nodeArgs?: string[];
}

/**
 * Every child a benchmark started, so that all of them are stopped at the end, on error, on Ctrl-C and
 * when the benchmark process itself exits abruptly.
 */
export class ProcessRegistry {
  private readonly all = new Set<BenchProcess>();
  private readonly onExit = () => this.killAllNow();

  constructor() {
    process.on('exit', this.onExit);
  }

  /** Runs `node <args>` from the repository root with piped output. */
  spawnNode(name: string, args: string[], options: SpawnOptions = {}): BenchProcess {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...args], {
      cwd: REPO_ROOT,
      stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    const proc = new BenchProcess(name, child);
    this.all.add(proc);
    void proc.exited.then(() => this.all.delete(proc));
    return proc;
  }

  /** A TypeScript entry point run through tsx (bench-only children: the sim launcher, the informer baseline). */
  spawnTs(name: string, file: string, args: string[], options: SpawnOptions = {}): BenchProcess {
    return this.spawnNode(name, ['--import', 'tsx', file, ...args], options);
  }

  /** `scale-agent <args>`, as an operator would run it. */
  spawnCli(name: string, args: string[], options: SpawnOptions = {}): BenchProcess {
    return this.spawnNode(name, [CLI_ENTRY, ...args], options);
  }

  /** Stops every running child, the last started first. */
  async stopAll(): Promise<void> {
    for (const proc of [...this.all].reverse()) await proc.stop();
  }

  killAllNow(): void {
    for (const proc of this.all) proc.killNow();
  }

  dispose(): void {
    process.off('exit', this.onExit);
  }
}

/** Polls `check` every `intervalMs` until it returns a value; fails after `timeoutMs` or when `alive` throws. */
export async function poll<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs: number; intervalMs?: number; what: string; alive?: () => void; describe?: () => string },
): Promise<T> {
  const deadline = performance.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    options.alive?.();
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (performance.now() > deadline) {
      const detail = options.describe?.() ?? (lastError ? `last error: ${(lastError as Error).message}` : '');
      throw new Error(`timed out after ${Math.round(options.timeoutMs / 1000)} s waiting for ${options.what}${detail ? ` (${detail})` : ''}`);
    }
    await sleep(options.intervalMs ?? 100);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
