import type { Logger } from '../../common/logger.ts';
import type { AccountProgress, ProgressCounts, SyncFinished, SyncProgress } from './sync-progress.ts';

/** How often progress is logged while an initial sync runs. */
export const PROGRESS_LOG_INTERVAL_MS = 5000;
/**
 * Accounts given a line of their own at each report: the slowest of those still syncing. With a thousand
 * accounts the others are a count, so that a report stays a dozen lines.
 */
export const PROGRESS_LOG_ACCOUNT_LINES = 10;

/** Rates below this are logged with one decimal (a slow account's 0.4 objects/s is not 0). */
const WHOLE_RATE_FROM = 10;

function roundRate(perSecond: number): number {
  return perSecond >= WHOLE_RATE_FROM ? Math.round(perSecond) : Math.round(perSecond * 10) / 10;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function roundSeconds(seconds: number): number {
  return Math.round(seconds * 10) / 10;
}

/** The numbers of a progress line, as logged (no field for what is not known yet). */
function countFields(counts: ProgressCounts): Record<string, number> {
  const fields: Record<string, number> = {
    feeds: counts.feeds,
    feedsDone: counts.feedsDone,
    listed: counts.listed,
    committed: counts.committed,
  };
  if (counts.expected !== undefined) fields.expected = counts.expected;
  fields.objectsPerSecond = roundRate(counts.objectsPerSecond);
  if (counts.etaSeconds !== undefined) fields.etaSeconds = counts.etaSeconds;
  fields.seconds = roundSeconds(counts.seconds);
  return fields;
}

/**
 * The slowest first: those with the longest time to go, those whose time cannot be told yet (a list not
 * begun, nothing committed lately) ahead of them; then the least committed.
 */
export function slowestFirst(a: AccountProgress, b: AccountProgress): number {
  const etaA = a.etaSeconds ?? Number.POSITIVE_INFINITY;
  const etaB = b.etaSeconds ?? Number.POSITIVE_INFINITY;
  if (etaA !== etaB) return etaB - etaA;
  if (a.committed !== b.committed) return a.committed - b.committed;
  return a.account < b.account ? -1 : a.account > b.account ? 1 : 0;
}

export interface SyncProgressLogOptions {
  progress: SyncProgress;
  logger: Logger;
  intervalMs?: number;
  accountLines?: number;
}

/**
 * Logs an initial sync's progress (SyncProgress): every `intervalMs` while one runs, a line for the
 * total and one for each of the slowest accounts still syncing (at most `accountLines`, then how many
 * more); a line when an account is done, and one when all are.
 */
export class SyncProgressLog {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly logger: Logger;

  constructor(private readonly options: SyncProgressLogOptions) {
    this.logger = options.logger;
    options.progress.onFinished((finished) => this.finished(finished));
  }

  start(): this {
    this.stopped = false;
    this.timer ??= setInterval(() => this.report(), this.options.intervalMs ?? PROGRESS_LOG_INTERVAL_MS);
    this.timer.unref();
    return this;
  }

  /** No more lines, not even of syncs that finish after (an agent stopping removes its accounts). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One report: nothing when no initial sync runs. */
  report(): void {
    const report = this.options.progress.report();
    if (report === undefined) return;
    const { accounts, accountsDone, accountsWaiting, ...counts } = report.total;
    this.logger.info({ accounts, accountsDone, accountsWaiting, ...countFields(counts) }, 'initial sync progress');
    const limit = this.options.accountLines ?? PROGRESS_LOG_ACCOUNT_LINES;
    const slowest = [...report.syncing].sort(slowestFirst);
    for (const account of slowest.slice(0, limit)) {
      this.logger.info({ account: account.account, ...countFields(account) }, 'initial sync progress of an account');
    }
    const more = slowest.length - limit;
    if (more > 0) this.logger.info({ more }, `initial sync progress: ${plural(more, 'more account')} syncing`);
  }

  private finished(finished: SyncFinished): void {
    if (this.stopped) return;
    const seconds = roundSeconds(finished.seconds);
    const objectsPerSecond = roundRate(finished.seconds > 0 ? finished.objects / finished.seconds : 0);
    if (finished.what === 'all') {
      const { objects, accounts } = finished;
      this.logger.info(
        { objects, accounts, seconds, objectsPerSecond },
        `initial sync done: ${plural(objects, 'object')} in ${plural(accounts, 'account')} in ${seconds} s (${objectsPerSecond} objects/s)`,
      );
      return;
    }
    const { account, objects, feeds, resumedFeeds, refusedFeeds } = finished;
    this.logger.info(
      {
        account,
        objects,
        feeds,
        ...(resumedFeeds > 0 ? { resumedFeeds } : {}),
        ...(refusedFeeds > 0 ? { refusedFeeds } : {}),
        seconds,
        objectsPerSecond,
      },
      `initial sync of account ${account} done: ${plural(objects, 'object')} in ${seconds} s (${objectsPerSecond} objects/s)`,
    );
  }
}
