import type { Logger } from '../../common/logger.ts';
import type { AccountProgress, ProgressCounts, SyncFinished, SyncProgress } from './sync-progress.ts';

/** How often progress is logged while an initial sync runs and moves. */
export const PROGRESS_LOG_INTERVAL_MS = 5000;
/**
 * The longest time between progress lines while nothing moves: each line that shows no progress since the
 * one before doubles the wait for the next, up to this; the first progress brings the interval back.
 */
export const PROGRESS_LOG_MAX_INTERVAL_MS = 300_000;
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
  };
  if (counts.feedsStalled > 0) fields.feedsStalled = counts.feedsStalled;
  fields.listed = counts.listed;
  fields.committed = counts.committed;
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

/** A feed id (`group/Kind@namespace`, feed.ts) as its kind is written for people: `Deployment.apps in web`. */
export function feedLabel(feed: string): string {
  const at = feed.lastIndexOf('@');
  const slash = feed.indexOf('/');
  if (at < 0 || slash < 0 || slash > at) return feed;
  const group = feed.slice(0, slash);
  const namespace = feed.slice(at + 1);
  return `${feed.slice(slash + 1, at)}${group ? `.${group}` : ''}${namespace ? ` in ${namespace}` : ''}`;
}

export interface SyncProgressLogOptions {
  progress: SyncProgress;
  logger: Logger;
  intervalMs?: number;
  /** The longest interval while nothing moves (PROGRESS_LOG_MAX_INTERVAL_MS). */
  maxIntervalMs?: number;
  accountLines?: number;
  /** The same clock as the progress's (tests). */
  clock?: () => number;
}

/**
 * Logs an initial sync's progress (SyncProgress): every `intervalMs` while one runs, a line for the
 * total and one for each of the slowest accounts still syncing (at most `accountLines`, then how many
 * more); a line when an account is done, and one when all are. While nothing moves (every feed left
 * waits on a list that keeps failing), each report that shows no progress doubles the wait for the
 * next, up to `maxIntervalMs`; progress brings the interval back. Feeds that stay stalled end their
 * account's sync as incomplete (SyncProgress.checkStalls), so that the lines stop.
 */
export class SyncProgressLog {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly logger: Logger;
  private readonly baseIntervalMs: number;
  private readonly maxIntervalMs: number;
  private readonly clock: () => number;
  /** The wait between reports now: the base interval, doubled by each report that showed no progress. */
  private intervalMs: number;
  private lastReportAt: number | undefined;
  /** SyncProgress.changes at the last report. */
  private lastChanges: number | undefined;

  constructor(private readonly options: SyncProgressLogOptions) {
    this.logger = options.logger;
    this.baseIntervalMs = options.intervalMs ?? PROGRESS_LOG_INTERVAL_MS;
    this.maxIntervalMs = Math.max(this.baseIntervalMs, options.maxIntervalMs ?? PROGRESS_LOG_MAX_INTERVAL_MS);
    this.clock = options.clock ?? Date.now;
    this.intervalMs = this.baseIntervalMs;
    options.progress.onFinished((finished) => this.finished(finished));
  }

  start(): this {
    this.stopped = false;
    this.timer ??= setInterval(() => this.tick(), this.baseIntervalMs);
    this.timer.unref();
    return this;
  }

  /** What the timer does every base interval: stalls checked, then a report if one is due. */
  tick(): void {
    const progress = this.options.progress;
    progress.checkStalls();
    if (!progress.active) {
      this.intervalMs = this.baseIntervalMs;
      this.lastReportAt = this.lastChanges = undefined;
      return;
    }
    const now = this.clock();
    const moved = progress.changes !== this.lastChanges;
    if (moved) this.intervalMs = this.baseIntervalMs;
    if (this.lastReportAt !== undefined && now - this.lastReportAt < this.intervalMs) return;
    this.report();
    this.lastReportAt = now;
    this.lastChanges = progress.changes;
    if (!moved) this.intervalMs = Math.min(this.intervalMs * 2, this.maxIntervalMs);
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
    const { accounts, accountsDone, accountsWaiting, accountsIncomplete, ...counts } = report.total;
    this.logger.info(
      { accounts, accountsDone, accountsWaiting, ...(accountsIncomplete > 0 ? { accountsIncomplete } : {}), ...countFields(counts) },
      'initial sync progress',
    );
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
    switch (finished.what) {
      case 'all': {
        const { objects, accounts, incompleteAccounts } = finished;
        const incomplete = incompleteAccounts > 0 ? `; ${plural(incompleteAccounts, 'account')} incomplete` : '';
        this.logger.info(
          { objects, accounts, ...(incompleteAccounts > 0 ? { incompleteAccounts } : {}), seconds, objectsPerSecond },
          `initial sync done: ${plural(objects, 'object')} in ${plural(accounts, 'account')} in ${seconds} s (${objectsPerSecond} objects/s)${incomplete}`,
        );
        return;
      }
      case 'incomplete': {
        const { account, objects, feeds, stalledFeeds } = finished;
        this.logger.warn(
          { account, objects, feeds, stalledFeeds, seconds },
          `initial sync of account ${account} incomplete: ${plural(objects, 'object')} in ${seconds} s; ` +
            `${stalledFeeds.map(feedLabel).join(', ')} could not be listed (failing for longer than the stall bound); ` +
            'they are retried, and a line says so if they complete',
        );
        return;
      }
      case 'completed': {
        const { account, objects, feeds } = finished;
        this.logger.info(
          { account, objects, feeds, seconds },
          `initial sync of account ${account} completed after all: ${plural(objects, 'object')} in ${seconds} s, its stalled kinds listed at last`,
        );
        return;
      }
      case 'account': {
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
  }
}
