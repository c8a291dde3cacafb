import type { Logger } from '../common/logger.ts';
import { errorMessage } from '../common/errors.ts';
import { isStatusError } from './status.ts';

/**
 * Deferred work of one cluster (controllers reacting, pods starting, graceful deletions finishing), kept in
 * one place so that removing the cluster or closing the sim cancels all of it. A task that fails because
 * its object changed or vanished meanwhile is expected in an eventually consistent system and is only
 * logged at debug level.
 */
export class Scheduler {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly immediates = new Set<NodeJS.Immediate>();
  private stopped = false;

  constructor(private readonly logger: Logger) {}

  /** Runs `task` after `ms` milliseconds. */
  after(ms: number, task: () => void): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.run(task);
    }, ms);
    this.timers.add(timer);
  }

  /** Runs `task` on a later turn of the event loop, after the current request has been answered. */
  soon(task: () => void): void {
    if (this.stopped) return;
    const immediate = setImmediate(() => {
      this.immediates.delete(immediate);
      this.run(task);
    });
    this.immediates.add(immediate);
  }

  private run(task: () => void): void {
    if (this.stopped) return;
    try {
      task();
    } catch (err) {
      if (isStatusError(err)) this.logger.debug({ err: errorMessage(err) }, 'deferred task found its object changed');
      else this.logger.error({ err: errorMessage(err), stack: (err as Error).stack }, 'deferred task failed');
    }
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    for (const immediate of this.immediates) clearImmediate(immediate);
    this.timers.clear();
    this.immediates.clear();
  }
}
