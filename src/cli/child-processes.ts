import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The CLI entry point, so parts run as separate processes of the same installation. */
export const CLI_ENTRY = fileURLToPath(new URL('../../bin/scale-agent.js', import.meta.url));
/** How long a part gets to stop after SIGTERM before it is killed. */
const STOP_GRACE_MS = 10_000;
/** Output kept per part, for start-up checks. */
const KEPT_OUTPUT_CHARS = 64 * 1024;

/**
 * Parts of the system started as child processes (the demo, end-to-end tests), their output prefixed
 * with the part's name, stopped together.
 */
export class ChildProcessGroup {
  private readonly children = new Map<string, { process: ChildProcess; output: string; exited: boolean }>();
  private stopping = false;
  private unexpectedExit: ((name: string, code: number | null) => void) | undefined;

  constructor(private readonly options: { echo?: boolean; env?: NodeJS.ProcessEnv } = {}) {}

  start(name: string, args: string[]): ChildProcess {
    const child = spawn(process.execPath, [CLI_ENTRY, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.options.env } });
    const entry = { process: child, output: '', exited: false };
    this.children.set(name, entry);
    const prefix = `[${name}]`.padEnd(8);
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        entry.output = (entry.output + line + '\n').slice(-KEPT_OUTPUT_CHARS);
        if (this.options.echo !== false) process.stdout.write(`${prefix} ${line}\n`);
      });
    }
    child.on('exit', (code) => {
      entry.exited = true;
      if (!this.stopping) this.unexpectedExit?.(name, code);
    });
    return child;
  }

  output(name: string): string {
    return this.children.get(name)?.output ?? '';
  }

  onUnexpectedExit(handler: (name: string, code: number | null) => void): void {
    this.unexpectedExit = handler;
  }

  /** Stops one part (SIGTERM, then SIGKILL after a grace period); resolves when it exited. */
  async stop(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const entry = this.children.get(name);
    if (!entry || entry.exited) return;
    const wasStopping = this.stopping;
    this.stopping = true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => entry.process.kill('SIGKILL'), STOP_GRACE_MS);
      entry.process.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      entry.process.kill(signal);
    });
    this.stopping = wasStopping;
  }

  /** Stops every part, the last started first (the agent before the hub before the sim), one at a time. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    for (const name of [...this.children.keys()].reverse()) await this.stop(name);
  }
}
