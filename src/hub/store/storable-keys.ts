import { KEY_LENGTHS } from './schema.ts';
import type { FeedInfo, RejectedEntry, StoreBatch, StoreChange } from './types.ts';

/**
 * Which key values the store can hold. A key longer than its column, or holding a NUL character
 * (PostgreSQL cannot store one), or an API group, kind or namespace with characters outside ASCII
 * (ASCII columns: MySQL refuses the rest), would fail its whole batch on PostgreSQL or MySQL, and the
 * agent would re-send that batch forever. So the ingest store leaves such an entry out and reports it
 * (IngestOutcome.rejected) instead. Kubernetes' own validation keeps real objects far inside these
 * bounds. Each problem is said in the words the hub logs for the skipped change.
 */

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Whether every given value can be an API group, kind or namespace the store holds. A lookup by any other
 * value matches nothing, and is answered without asking the database (MySQL would refuse to compare it
 * with an ASCII column: a collation error).
 */
export function asciiKeys(...values: Array<string | undefined>): boolean {
  return values.every((v) => v === undefined || !NON_ASCII.test(v));
}

function textProblem(field: string, value: string, max: number): string | undefined {
  if (value.length > max) return `${field} is ${value.length} characters, more than ${max}`;
  if (value.includes('\u0000')) return `${field} holds a NUL character`;
  return undefined;
}

/** For the keys kept in ASCII columns: API group, kind, namespace. */
function asciiKeyProblem(field: string, value: string, max: number): string | undefined {
  return textProblem(field, value, max) ?? (NON_ASCII.test(value) ? `${field} holds characters that are not ASCII` : undefined);
}

/**
 * A change as far as the store keys it: an upsert without its object (so that it can be checked before
 * its body is decoded), any other change whole.
 */
export type ChangeKeys = Exclude<StoreChange, { type: 'upsert' }> | Omit<Extract<StoreChange, { type: 'upsert' }>, 'body' | 'metadata'>;

/** Why the store cannot hold a feed's keys: neither its resume point nor any change of it. */
export function feedKeyProblem(feed: FeedInfo): string | undefined {
  // `??` stops at the first problem: these run for every change of every batch, twice (handler and store).
  return (
    asciiKeyProblem('the feed group', feed.group, KEY_LENGTHS.group) ??
    asciiKeyProblem('the feed kind', feed.kind, KEY_LENGTHS.kind) ??
    textProblem('the feed version', feed.version, KEY_LENGTHS.version) ??
    textProblem('the feed resource', feed.resource, KEY_LENGTHS.resource) ??
    asciiKeyProblem('the feed namespace', feed.namespace, KEY_LENGTHS.namespace)
  );
}

/** Why no change of `feed` can be held: a feed without a kind keys nothing, and then its keys. */
export function feedChangeProblem(feed: FeedInfo): string | undefined {
  return feed.kind === '' ? 'feed has no kind' : feedKeyProblem(feed);
}

function objectKeyProblem(key: { namespace: string; name: string; uid?: string; resourceVersion?: string }): string | undefined {
  return (
    asciiKeyProblem('the namespace', key.namespace, KEY_LENGTHS.namespace) ??
    textProblem('the name', key.name, KEY_LENGTHS.name) ??
    (key.uid === undefined ? undefined : textProblem('the uid', key.uid, KEY_LENGTHS.uid)) ??
    (key.resourceVersion === undefined ? undefined : textProblem('the resourceVersion', key.resourceVersion, KEY_LENGTHS.resourceVersion))
  );
}

function keyProblem(change: ChangeKeys): string | undefined {
  switch (change.type) {
    case 'upsert':
    case 'delete':
    case 'touch':
    case 'skipped':
      return objectKeyProblem(change);
    case 'snapshotBegin':
      return textProblem('the snapshot id', change.snapshotId, KEY_LENGTHS.snapshotId);
    case 'snapshotEnd':
      return (
        textProblem('the snapshot id', change.snapshotId, KEY_LENGTHS.snapshotId) ??
        textProblem('the resourceVersion', change.resourceVersion, KEY_LENGTHS.resourceVersion)
      );
    case 'feedDropped':
      return undefined;
  }
}

/** Why the store cannot hold a change, its feed aside (feedChangeProblem): a key that does not fit, or an object without a name. */
export function changeKeyProblem(change: ChangeKeys): string | undefined {
  const problem = keyProblem(change);
  if (problem !== undefined) return `${change.type}: ${problem}`;
  if ((change.type === 'upsert' || change.type === 'delete') && change.name === '') return `${change.type} without a name`;
  return undefined;
}

/** Why the store cannot hold a resume point: its feed's keys (a feed without a kind is not refused here), or its resourceVersion. */
export function progressProblem(point: StoreBatch['progress'][number]): string | undefined {
  return feedKeyProblem(point.feed) ?? textProblem('the progress resourceVersion', point.resourceVersion, KEY_LENGTHS.resourceVersion);
}

/** A batch sorted into what the store can hold (in order) and what it cannot. */
export interface ScreenedBatch {
  held: StoreBatch;
  rejected: RejectedEntry[];
}

/** Sorts a batch by the rules above; the batch itself is `held` when nothing is rejected. */
export function screenBatch(batch: StoreBatch): ScreenedBatch {
  const rejected: RejectedEntry[] = [];
  // Changes of a batch share a few feeds (the sync handler's feed table): each is judged once, and the
  // usual batch (nothing rejected) is passed on as it is, without copying its changes.
  let lastFeed: FeedInfo | undefined;
  let lastFeedProblem: string | undefined;
  const feedProblems = new Map<FeedInfo, string | undefined>();
  const feedProblem = (feed: FeedInfo): string | undefined => {
    if (feed === lastFeed) return lastFeedProblem;
    let problem = feedProblems.get(feed);
    if (problem === undefined && !feedProblems.has(feed)) {
      problem = feedChangeProblem(feed);
      feedProblems.set(feed, problem);
    }
    lastFeed = feed;
    lastFeedProblem = problem;
    return problem;
  };
  batch.changes.forEach((change, index) => {
    const reason = feedProblem(change.feed) ?? changeKeyProblem(change);
    if (reason !== undefined) rejected.push({ entry: 'change', index, reason });
  });
  const changeRejects = rejected.length;
  batch.progress.forEach((point, index) => {
    const reason = progressProblem(point);
    if (reason !== undefined) rejected.push({ entry: 'progress', index, reason });
  });
  if (rejected.length === 0) return { held: batch, rejected };
  const left = (entry: RejectedEntry['entry']) => new Set(rejected.filter((r) => r.entry === entry).map((r) => r.index));
  const badChanges = changeRejects > 0 ? left('change') : undefined;
  const badProgress = rejected.length > changeRejects ? left('progress') : undefined;
  // The rest of the batch keeps everything else it carries (its fence above all).
  return {
    held: {
      ...batch,
      changes: badChanges ? batch.changes.filter((_, i) => !badChanges.has(i)) : batch.changes,
      progress: badProgress ? batch.progress.filter((_, i) => !badProgress.has(i)) : batch.progress,
    },
    rejected,
  };
}
