import type { Transaction } from 'kysely';
import type { SqlDialect } from './dialect.ts';
import type { FeedRow, IngestPlan } from './ingest-fold.ts';
import { accountFeedKey, feedKey } from './ingest-keys.ts';
import { ACCOUNTS_PER_LOOKUP, FEEDS_PER_LOOKUP, powerOfTwoParts, statementsFor } from './ingest-statements.ts';
import { toNumber } from './rows.ts';
import type { Database } from './schema.ts';
import type { FeedKey } from './types.ts';

/**
 * What committed group commits left per account: its snapshot epoch and the feed rows they read or
 * wrote (keyed by group, kind and namespace). Only for a store that is the database's one writer (the
 * embedded SQLite file): there the next group takes both from here instead of reading them again, which
 * for a thousand accounts sending a change or two each was a third of every group's statements. Its
 * owner clears an account's entry whenever anything else writes its rows (deleteAccount) or a group
 * with it fails.
 */
export type IngestCache = Map<string, { epoch: number; feeds: Map<string, FeedRow> }>;

/**
 * The snapshot epoch of each account, cached ones first, then the others in name order (the order
 * PostgreSQL and MySQL lock the rows in). An account without a row is left out.
 */
export async function loadAccounts(trx: Transaction<Database>, dialect: SqlDialect, names: string[], cache?: IngestCache): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const unknown: string[] = [];
  for (const name of names) {
    const cached = cache?.get(name);
    if (cached) out.set(name, cached.epoch);
    else unknown.push(name);
  }
  for (const part of powerOfTwoParts(unknown.sort(), ACCOUNTS_PER_LOOKUP)) {
    const { rows } = await statementsFor(dialect).accounts.execute<{ name: string; snapshot_epoch: number | string }>(trx, part.length, part);
    for (const row of rows) out.set(row.name, toNumber(row.snapshot_epoch));
  }
  return out;
}

/**
 * The stored rows of the referenced feeds, keyed by accountFeedKey: cached ones as the cache holds them
 * (the fold copies what it changes, so a failed group leaves the cache as it was), the others read.
 */
export async function loadFeeds(
  trx: Transaction<Database>,
  dialect: SqlDialect,
  referenced: Array<FeedKey & { account: string }>,
  cache?: IngestCache,
): Promise<Map<string, FeedRow>> {
  const unique = new Map<string, FeedKey & { account: string }>();
  const out = new Map<string, FeedRow>();
  for (const f of referenced) {
    const key = accountFeedKey(f.account, f.group, f.kind, f.namespace);
    if (out.has(key) || unique.has(key)) continue;
    const cached = cache?.get(f.account)?.feeds.get(feedKey(f));
    if (cached) out.set(key, cached);
    else unique.set(key, f);
  }
  for (const part of powerOfTwoParts([...unique.values()], FEEDS_PER_LOOKUP)) {
    const values: string[] = [];
    for (const f of part) values.push(f.account, f.group, f.kind, f.namespace);
    const { rows } = await statementsFor(dialect).feeds.execute<FeedRow>(trx, part.length, values);
    for (const row of rows) {
      // The drivers' BIGINTs as numbers (the row is this call's own: converted in place).
      row.namespaced = toNumber(row.namespaced);
      row.epoch = toNumber(row.epoch);
      row.updated_at = toNumber(row.updated_at);
      out.set(accountFeedKey(row.account, row.api_group, row.kind, row.namespace), row);
    }
  }
  return out;
}

/** Takes the group's final account epochs and feed rows into the cache, and forgets the feeds it dropped. */
export function rememberCommittedState(cache: IngestCache, plan: IngestPlan): void {
  const entryOf = (account: string) => {
    let entry = cache.get(account);
    if (!entry) {
      entry = { epoch: plan.accounts.get(account)!.epoch, feeds: new Map() };
      cache.set(account, entry);
    }
    return entry;
  };
  for (const [account, state] of plan.accounts) entryOf(account).epoch = state.epoch;
  for (const [account, key] of plan.droppedFeeds) cache.get(account)?.feeds.delete(key);
  for (const { row } of plan.feeds.values())
    entryOf(row.account).feeds.set(feedKey({ group: row.api_group, kind: row.kind, namespace: row.namespace }), { ...row });
}
