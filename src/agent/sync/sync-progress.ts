import type { ListPageInfo } from '../../kube/reflector.ts';
import { RateWindow } from './rate-window.ts';

/** The rate reported is over this much of the recent past. */
export const PROGRESS_RATE_WINDOW_MS = 30_000;
/** Granularity of the rate's window. */
export const PROGRESS_RATE_BUCKET_MS = 1000;

const MS_PER_SECOND = 1000;

/**
 * A feed whose list keeps failing (backing off, and every retry since) for longer than this, with no page
 * in between, is stalled: its account's sync ends as incomplete instead of holding the round open. The
 * agent uses health.reflectorStuckSeconds, when /health calls such a reflector stuck; this is its default.
 */
export const SYNC_FEED_STALLED_MS = 300_000;

/** Entry types that stand for one listed object reaching the hub (stored, unchanged, or too large to store). */
const OBJECT_ENTRY_TYPES = new Set(['upsert', 'touch', 'skipped']);

interface FeedRecord {
  /** Objects the current list has returned so far. */
  listed: number;
  /** How many the list holds, once known (its last page, or a page's remainingItemCount). */
  expected: number | undefined;
  /** Objects of the current list the hub has committed. */
  committed: number;
  done: boolean;
  /** Resumed its watch from the hub's point: nothing to list. */
  resumed: boolean;
  /** The API server refuses the kind: nothing it will list. */
  refused: boolean;
  /** When its list began failing (its first backoff since the last page); undefined while it is not failing. */
  failingSince: number | undefined;
  /** Failing for longer than the stall bound: no longer holds its account's sync back. */
  stalled: boolean;
}

interface AccountRecord {
  /**
   * waiting: accepted for caching, its turn to start not come yet (kubernetes.accountStartIntervalMs);
   * incomplete: every feed is done but stalled ones, which may still complete (then it is done).
   */
  state: 'waiting' | 'syncing' | 'incomplete' | 'done';
  startedAt: number | undefined;
  doneAt: number | undefined;
  feeds: Map<string, FeedRecord>;
  rate: RateWindow | undefined;
}

/** Accounts whose initial syncs overlap: from the first one's start until every one is done. */
interface Round {
  startedAt: number;
  accounts: Map<string, AccountRecord>;
  /**
   * Its accounts still waiting or syncing: the round ends when none is left. Counted, not found by a scan,
   * since each account that finishes asks (a scan per account made a thousand accounts' sync quadratic).
   */
  unfinished: number;
  rate: RateWindow;
}

/** Listed, committed and expected objects, and how fast they are committed now. */
export interface ProgressCounts {
  feeds: number;
  feedsDone: number;
  /** Feeds whose list has failed for longer than the stall bound (each counts what it listed as expected). */
  feedsStalled: number;
  listed: number;
  committed: number;
  /** Undefined until every feed's list said how many objects it holds. */
  expected: number | undefined;
  objectsPerSecond: number;
  /** Undefined while `expected` is, or nothing is being committed. */
  etaSeconds: number | undefined;
  /** Since the start (of the account's sync, or of the first account's). */
  seconds: number;
}

export interface AccountProgress extends ProgressCounts {
  account: string;
}

export interface ProgressReport {
  total: ProgressCounts & { accounts: number; accountsDone: number; accountsWaiting: number; accountsIncomplete: number };
  /** The accounts still syncing (not those waiting for their start, nor those done). */
  syncing: AccountProgress[];
}

export type SyncFinished =
  | { what: 'account'; account: string; objects: number; feeds: number; resumedFeeds: number; refusedFeeds: number; seconds: number }
  /** Every feed done but these, stalled (feed ids): the account no longer holds the round open. */
  | { what: 'incomplete'; account: string; objects: number; feeds: number; stalledFeeds: string[]; seconds: number }
  /** An incomplete account whose stalled feeds have completed after all. */
  | { what: 'completed'; account: string; objects: number; feeds: number; seconds: number }
  | { what: 'all'; objects: number; accounts: number; incompleteAccounts: number; seconds: number };

export interface SyncProgressOptions {
  /** How long a feed's list may keep failing before it counts as stalled (SYNC_FEED_STALLED_MS). */
  stalledAfterMs?: number;
}

/**
 * The initial sync of the accounts this agent caches: per feed, the objects its first list returned
 * (listed), how many the list holds (expected: its last page, or earlier Kubernetes' remainingItemCount),
 * and how many of them the hub has acknowledged as committed. An account's initial sync begins when it
 * is accepted for caching and ends when every feed's list is committed (a feed that resumed its watch
 * from the hub's point, or that the API server refuses, has nothing to list). Accounts whose syncs
 * overlap form one round, which ends when all of them are done: an account added later (a reload, a
 * dynamic account) starts a round of its own. The account runtimes and sync streams report into it;
 * SyncProgressLog reads it. Time comes from the injected clock.
 *
 * A feed whose list keeps failing with no page for longer than `stalledAfterMs` is stalled (checkStalls):
 * once every other feed of its account is done, the account's sync ends as incomplete, naming the stalled
 * feeds, and no longer holds the round open; should those feeds complete later, the account is done then.
 */
export class SyncProgress {
  private round: Round | undefined;
  /** Incomplete accounts of rounds that have ended: followed until their stalled feeds complete. */
  private readonly late = new Map<string, AccountRecord>();
  private readonly listeners: Array<(finished: SyncFinished) => void> = [];
  private readonly stalledAfterMs: number;
  private changeCount = 0;

  constructor(
    private readonly clock: () => number = Date.now,
    options: SyncProgressOptions = {},
  ) {
    this.stalledAfterMs = options.stalledAfterMs ?? SYNC_FEED_STALLED_MS;
  }

  /** Grows with every change of the counts a report shows (not with time passing): whether anything moved since. */
  get changes(): number {
    return this.changeCount;
  }

  onFinished(listener: (finished: SyncFinished) => void): void {
    this.listeners.push(listener);
  }

  /** Whether any account is waiting for its start or syncing. */
  get active(): boolean {
    return this.round !== undefined;
  }

  /** Accepted for caching (its feeds start in its turn): the account joins the sync. */
  accountWaiting(account: string): void {
    this.record(account);
  }

  /** The account's feeds are planned and started (feedStarted each): from now on it is done once they are. */
  accountStarted(account: string): void {
    const record = this.record(account);
    if (record.state !== 'waiting') return;
    const now = this.clock();
    record.state = 'syncing';
    record.startedAt = now;
    this.changeCount++;
    record.rate = new RateWindow(now, PROGRESS_RATE_WINDOW_MS, PROGRESS_RATE_BUCKET_MS);
    this.check(account, record);
  }

  /** The account no longer caches here (stopped, removed, refused, another agent caches it): out of the round. */
  accountStopped(account: string): void {
    this.late.delete(account);
    const round = this.round;
    const record = round?.accounts.get(account);
    if (round === undefined || record === undefined) return;
    round.accounts.delete(account);
    if (record.state === 'waiting' || record.state === 'syncing') round.unfinished--;
    this.changeCount++;
    if (round.accounts.size === 0) this.round = undefined;
    else this.checkRound(round);
  }

  /**
   * A feed starts: it lists, or (`resumed`) watches from the hub's resume point. Only a feed of an account
   * in the sync counts: one a finished account adds later (a new kind) is no initial sync.
   */
  feedStarted(account: string, feed: string, resumed: boolean): void {
    const record = this.round?.accounts.get(account);
    if (record === undefined || record.state === 'done' || record.state === 'incomplete') return;
    record.feeds.set(feed, {
      listed: 0,
      expected: resumed ? 0 : undefined,
      committed: 0,
      done: resumed,
      resumed,
      refused: false,
      failingSince: undefined,
      stalled: false,
    });
    this.changeCount++;
    if (resumed) this.check(account, record);
  }

  /** The API server refuses the kind (403/404): it lists nothing, and does not hold its account's sync back. */
  feedRefused(account: string, feed: string): void {
    const found = this.feed(account, feed);
    if (found === undefined || found.feed.done) return;
    Object.assign(found.feed, { done: true, refused: true, expected: found.feed.listed, failingSince: undefined, stalled: false });
    this.changeCount++;
    this.check(account, found.account);
  }

  /**
   * The feed's list or watch failed and it backs off (the reflector's `backoff` state): from the first such
   * failure with no page since, the time towards its stall is counted.
   */
  feedBackingOff(account: string, feed: string): void {
    const found = this.feed(account, feed);
    if (found === undefined || found.feed.done) return;
    found.feed.failingSince ??= this.clock();
  }

  /** A feed is no longer watched (its kind is gone, or no longer wanted). */
  feedRemoved(account: string, feed: string): void {
    const record = this.round?.accounts.get(account) ?? this.late.get(account);
    if (record === undefined || record.state === 'done' || record.state === 'waiting' || !record.feeds.delete(feed)) return;
    this.changeCount++;
    this.check(account, record);
  }

  /** A page of a feed's list arrived (before its objects go to the feed's queue). */
  listPage(account: string, feed: string, page: ListPageInfo): void {
    const found = this.feed(account, feed);
    if (found === undefined) return;
    const record = found.feed;
    if (record.done) {
      // A resumed feed whose point had expired relists after all: that list is part of the sync.
      if (!record.resumed || !page.first) return;
      record.done = false;
      record.resumed = false;
    }
    // A page is progress: the list no longer fails, and a stalled feed is back to holding its account.
    record.failingSince = undefined;
    record.stalled = false;
    this.changeCount++;
    if (page.first) {
      record.listed = 0;
      record.expected = undefined;
    }
    record.listed += page.items;
    if (page.remainingItemCount !== undefined) record.expected = record.listed + page.remainingItemCount;
    else if (page.last) record.expected = record.listed;
    else if (record.expected !== undefined) record.expected = Math.max(record.expected, record.listed);
  }

  /**
   * The hub acknowledged a batch holding these entries of the feed (in the order it sent them): a
   * snapshotBegin starts the count of the list's objects again, a snapshotEnd completes the feed.
   */
  committed(account: string, feed: string, entries: ReadonlyArray<{ type: string }>): void {
    const found = this.feed(account, feed);
    if (found === undefined || found.feed.done) return;
    const record = found.feed;
    const now = this.clock();
    let objects = 0;
    let ended = false;
    for (const entry of entries) {
      if (OBJECT_ENTRY_TYPES.has(entry.type)) {
        record.committed++;
        objects++;
      } else if (entry.type === 'snapshotBegin') {
        record.committed = 0;
      } else if (entry.type === 'snapshotEnd') {
        ended = true;
        break;
      }
    }
    if (objects > 0) {
      found.account.rate?.add(objects, now);
      this.round?.rate.add(objects, now);
      this.changeCount++;
    }
    if (!ended) return;
    // What the list returned is at the hub now; objects an account's filter (onlySpinnakerManaged) left
    // out are accounted for too, so that the feed ends with committed = listed = expected.
    record.listed = Math.max(record.listed, record.committed);
    record.committed = record.listed;
    record.expected = record.listed;
    record.done = true;
    record.failingSince = undefined;
    record.stalled = false;
    this.changeCount++;
    this.check(account, found.account);
  }

  /**
   * Marks the feeds whose lists have failed for longer than the stall bound as stalled, and ends the sync
   * of each account left with nothing but stalled feeds to wait for (incomplete). SyncProgressLog calls it
   * before each report.
   */
  checkStalls(): void {
    const round = this.round;
    if (round === undefined) return;
    const now = this.clock();
    for (const [account, record] of [...round.accounts]) {
      if (record.state !== 'syncing') continue;
      let stalledNow = false;
      for (const feed of record.feeds.values()) {
        if (feed.done || feed.stalled || feed.failingSince === undefined || now - feed.failingSince <= this.stalledAfterMs) continue;
        feed.stalled = true;
        stalledNow = true;
      }
      if (stalledNow) {
        this.changeCount++;
        this.check(account, record);
      }
    }
  }

  /** Where the round stands; undefined when no account is syncing. */
  report(): ProgressReport | undefined {
    const round = this.round;
    if (round === undefined) return undefined;
    const now = this.clock();
    const syncing: AccountProgress[] = [];
    let accountsDone = 0;
    let accountsWaiting = 0;
    let accountsIncomplete = 0;
    const sum = { feeds: 0, feedsDone: 0, feedsStalled: 0, listed: 0, committed: 0, expected: 0 as number | undefined };
    for (const [account, record] of round.accounts) {
      if (record.state === 'waiting') {
        accountsWaiting++;
        sum.expected = undefined;
        continue;
      }
      const counts = this.counts(record, now);
      sum.feeds += counts.feeds;
      sum.feedsDone += counts.feedsDone;
      sum.feedsStalled += counts.feedsStalled;
      sum.listed += counts.listed;
      sum.committed += counts.committed;
      sum.expected = sum.expected === undefined || counts.expected === undefined ? undefined : sum.expected + counts.expected;
      if (record.state === 'done') accountsDone++;
      else if (record.state === 'incomplete') accountsIncomplete++;
      else syncing.push({ account, ...counts });
    }
    const objectsPerSecond = round.rate.perSecond(now);
    return {
      total: {
        accounts: round.accounts.size,
        accountsDone,
        accountsWaiting,
        accountsIncomplete,
        ...sum,
        objectsPerSecond,
        etaSeconds: eta(sum.expected, sum.committed, objectsPerSecond),
        seconds: (now - round.startedAt) / MS_PER_SECOND,
      },
      syncing,
    };
  }

  private counts(record: AccountRecord, now: number): ProgressCounts {
    let feedsDone = 0;
    let feedsStalled = 0;
    let listed = 0;
    let committed = 0;
    let expected: number | undefined = 0;
    for (const feed of record.feeds.values()) {
      if (feed.done) feedsDone++;
      if (feed.stalled) feedsStalled++;
      listed += feed.listed;
      committed += feed.committed;
      // A stalled feed may never say how many it holds: what it listed stands for it, so the others' ETA shows.
      const feedExpected = feed.stalled ? Math.max(feed.expected ?? 0, feed.listed) : feed.expected;
      expected = expected === undefined || feedExpected === undefined ? undefined : expected + feedExpected;
    }
    const finished = record.state === 'done' || record.state === 'incomplete';
    const objectsPerSecond = finished ? 0 : (record.rate?.perSecond(now) ?? 0);
    const end = record.doneAt ?? now;
    return {
      feeds: record.feeds.size,
      feedsDone,
      feedsStalled,
      listed,
      committed,
      expected,
      objectsPerSecond,
      etaSeconds: finished ? 0 : eta(expected, committed, objectsPerSecond),
      seconds: (end - (record.startedAt ?? end)) / MS_PER_SECOND,
    };
  }

  /** The account's record in the current round, the round begun if none runs. */
  private record(account: string): AccountRecord {
    const now = this.clock();
    this.round ??= { startedAt: now, accounts: new Map(), unfinished: 0, rate: this.newRate() };
    let record = this.round.accounts.get(account);
    if (record === undefined) {
      // An incomplete account of an earlier round that joins again starts a sync of its own.
      this.late.delete(account);
      record = { state: 'waiting', startedAt: undefined, doneAt: undefined, feeds: new Map(), rate: undefined };
      this.round.accounts.set(account, record);
      this.round.unfinished++;
      this.changeCount++;
    }
    return record;
  }

  private newRate(): RateWindow {
    return new RateWindow(this.clock(), PROGRESS_RATE_WINDOW_MS, PROGRESS_RATE_BUCKET_MS);
  }

  /** A feed of a syncing account, or of an incomplete one (whose stalled feeds may yet complete). */
  private feed(account: string, feed: string): { account: AccountRecord; feed: FeedRecord } | undefined {
    const record = this.round?.accounts.get(account) ?? this.late.get(account);
    if (record === undefined || (record.state !== 'syncing' && record.state !== 'incomplete')) return undefined;
    const found = record.feeds.get(feed);
    return found === undefined ? undefined : { account: record, feed: found };
  }

  /**
   * Ends the account's sync once every feed is done (done), or once every feed not done is stalled
   * (incomplete); an incomplete account is done once its stalled feeds are. Then ends the round once
   * every account is done or incomplete.
   */
  private check(account: string, record: AccountRecord): void {
    if (record.state !== 'syncing' && record.state !== 'incomplete') return;
    const stalled: string[] = [];
    for (const [id, feed] of record.feeds) {
      if (feed.done) continue;
      if (!feed.stalled) return;
      stalled.push(id);
    }
    if (stalled.length > 0 && record.state === 'incomplete') return;
    const now = this.clock();
    let objects = 0;
    let resumedFeeds = 0;
    let refusedFeeds = 0;
    for (const feed of record.feeds.values()) {
      objects += feed.committed;
      if (feed.resumed) resumedFeeds++;
      if (feed.refused) refusedFeeds++;
    }
    const seconds = (now - (record.startedAt ?? now)) / MS_PER_SECOND;
    const feeds = record.feeds.size;
    this.changeCount++;
    if (record.state === 'incomplete') {
      // Its stalled feeds have completed after all.
      record.state = 'done';
      this.late.delete(account);
      this.emit({ what: 'completed', account, objects, feeds, seconds });
      return;
    }
    record.doneAt = now;
    // From syncing to incomplete or done (a late account, of an earlier round, is no longer counted).
    if (this.round?.accounts.get(account) === record) this.round.unfinished--;
    if (stalled.length > 0) {
      record.state = 'incomplete';
      this.emit({ what: 'incomplete', account, objects, feeds, stalledFeeds: stalled.sort(), seconds });
    } else {
      record.state = 'done';
      this.emit({ what: 'account', account, objects, feeds, resumedFeeds, refusedFeeds, seconds });
    }
    if (this.round !== undefined) this.checkRound(this.round);
  }

  private checkRound(round: Round): void {
    if (round.unfinished > 0) return;
    let objects = 0;
    let incompleteAccounts = 0;
    for (const record of round.accounts.values()) {
      if (record.state === 'incomplete') incompleteAccounts++;
      for (const feed of record.feeds.values()) objects += feed.committed;
    }
    this.round = undefined;
    for (const [account, record] of round.accounts) if (record.state === 'incomplete') this.late.set(account, record);
    this.emit({ what: 'all', objects, accounts: round.accounts.size, incompleteAccounts, seconds: (this.clock() - round.startedAt) / MS_PER_SECOND });
  }

  private emit(finished: SyncFinished): void {
    for (const listener of this.listeners) listener(finished);
  }
}

/** Seconds until `expected` objects are committed at `perSecond`; undefined when either is unknown or nothing moves. */
function eta(expected: number | undefined, committed: number, perSecond: number): number | undefined {
  if (expected === undefined || perSecond <= 0) return undefined;
  return Math.ceil(Math.max(0, expected - committed) / perSecond);
}
