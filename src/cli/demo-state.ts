import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Errors, ScaleAgentError, errorMessage } from '../common/errors.ts';
import { delay } from '../common/time.ts';
import { CLI_ENTRY } from './child-processes.ts';

/** The demo's record of itself in its directory: who runs it, and the processes it started. */
export const DEMO_STATE_FILE = 'demo.json';
/** How long a part left running by an earlier demo gets to stop after SIGTERM before SIGKILL. */
const LEFTOVER_STOP_GRACE_MS = 10_000;
/** How often a stopping leftover is checked for. */
const LEFTOVER_POLL_MS = 100;

interface RecordedProcess {
  pid: number;
  /** Its command line as started (executable and arguments): a pid reused by another program does not match. */
  command: string[];
}

interface DemoStateRecord {
  demo: RecordedProcess;
  startedAt: string;
  parts: Record<string, RecordedProcess>;
}

/** What claiming the directory found of an earlier demo. */
export interface DemoClaim {
  /** Parts an earlier demo left running (it was killed before it could stop them), stopped now. */
  stopped: Array<{ part: string; pid: number }>;
  /** Parts an earlier demo recorded that still run but whose command line cannot be read here: left alone. */
  unverified: Array<{ part: string; pid: number }>;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A process's command line: /proc on Linux, ps elsewhere; undefined when it cannot be read. */
function commandLineOf(pid: number): string[] | undefined {
  const proc = `/proc/${pid}/cmdline`;
  try {
    if (existsSync(proc))
      return readFileSync(proc, 'utf8')
        .split('\0')
        .filter((arg) => arg !== '');
  } catch {
    return undefined;
  }
  try {
    return execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' })
      .trim()
      .split(/\s+/);
  } catch {
    return undefined;
  }
}

/** Whether `recorded` still runs as the program it was: 'yes', 'no', or 'unknown' (it runs, its command line unreadable). */
function stillRuns(recorded: RecordedProcess): 'yes' | 'no' | 'unknown' {
  if (!isRunning(recorded.pid)) return 'no';
  const command = commandLineOf(recorded.pid);
  if (command === undefined) return 'unknown';
  return command.join(' ') === recorded.command.join(' ') ? 'yes' : 'no';
}

async function stopProcess(pid: number): Promise<void> {
  const deadline = Date.now() + LEFTOVER_STOP_GRACE_MS;
  process.kill(pid, 'SIGTERM');
  while (isRunning(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      return;
    }
    await delay(LEFTOVER_POLL_MS);
  }
}

/**
 * The demo's state file in its directory (`demo.json`). A demo claims the directory before it touches
 * anything in it: while another demo runs there (its process is alive and is a demo), the start is
 * refused (DEMO_ALREADY_RUNNING), since its database and kubeconfigs are that demo's; parts an earlier
 * demo left running because it was killed (kill -9, a closed terminal) hold the ports and the database,
 * so they are stopped first, but only when their command lines are still the ones recorded (a reused
 * pid is never signalled). A clean stop removes the file.
 */
export class DemoState {
  private readonly path: string;
  private record: DemoStateRecord | undefined;

  constructor(dir: string) {
    this.path = join(dir, DEMO_STATE_FILE);
  }

  /** Claims the directory for this process; rejects with DEMO_ALREADY_RUNNING while another demo runs in it. */
  async claim(): Promise<DemoClaim> {
    const found: DemoClaim = { stopped: [], unverified: [] };
    const earlier = this.read();
    if (earlier !== undefined) {
      const demo = stillRuns(earlier.demo);
      if (demo !== 'no') {
        throw new ScaleAgentError(
          Errors.DEMO_ALREADY_RUNNING,
          `a demo started ${earlier.startedAt} still runs in ${this.dirName()} (pid ${earlier.demo.pid}): stop it first (Ctrl-C where it runs, or kill ${earlier.demo.pid}), ` +
            `or start this one with another --dir and other ports` +
            (demo === 'unknown' ? `; if pid ${earlier.demo.pid} is no demo, delete ${this.path}` : ''),
          { pid: earlier.demo.pid, stateFile: this.path },
        );
      }
      for (const [part, recorded] of Object.entries(earlier.parts)) {
        const runs = stillRuns(recorded);
        if (runs === 'unknown') found.unverified.push({ part, pid: recorded.pid });
        if (runs !== 'yes') continue;
        await stopProcess(recorded.pid);
        found.stopped.push({ part, pid: recorded.pid });
      }
    }
    this.record = {
      demo: { pid: process.pid, command: commandLineOf(process.pid) ?? [process.execPath, CLI_ENTRY] },
      startedAt: new Date().toISOString(),
      parts: {},
    };
    this.write();
    return found;
  }

  /** Records a part this demo started, so that a demo after a kill can stop it. */
  recordPart(part: string, pid: number | undefined, args: string[]): void {
    if (this.record === undefined || pid === undefined) return;
    this.record.parts[part] = { pid, command: [process.execPath, CLI_ENTRY, ...args] };
    this.write();
  }

  /** Removes the file at a clean stop (its parts have stopped). */
  release(): void {
    if (this.record === undefined) return;
    this.record = undefined;
    rmSync(this.path, { force: true });
  }

  private dirName(): string {
    return join(this.path, '..');
  }

  private read(): DemoStateRecord | undefined {
    if (!existsSync(this.path)) return undefined;
    try {
      return JSON.parse(readFileSync(this.path, 'utf8')) as DemoStateRecord;
    } catch (err) {
      // Unreadable (cut short by a crash): nothing can be learnt from it, and a new one replaces it.
      process.stderr.write(`demo: ignoring an unreadable ${this.path}: ${errorMessage(err)}\n`);
      return undefined;
    }
  }

  private write(): void {
    writeFileSync(this.path, JSON.stringify(this.record, null, 2) + '\n');
  }
}
