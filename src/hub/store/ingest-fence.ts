import type { Transaction } from 'kysely';
import { Errors, ScaleAgentError } from '../../common/errors.ts';
import type { SqlDialect } from './dialect.ts';
import type { BatchInput } from './ingest-fold.ts';
import { ACCOUNTS_PER_LOOKUP, powerOfTwoParts, statementsFor } from './ingest-statements.ts';
import { toNumber } from './rows.ts';
import type { Database } from './schema.ts';

/**
 * Fencing (docs/architecture.md, "fencing epoch"): refuses the group with CACHING_EPOCH_STALE when a
 * fenced batch's epoch is not its account's current caching epoch (or the account was never claimed).
 * Runs inside the batches' transaction, after the account rows are locked and before anything is
 * written; on PostgreSQL and MySQL it locks the assignment rows too, so that a claim (which updates
 * that row) cannot commit between this check and the batch's commit: it waits for the batch, and the
 * batch's successor carries the new epoch. Locks are always taken account row first, then assignment
 * row (claimCaching takes only the latter), so the two never wait on each other in a cycle. On SQLite
 * the one writer serializes claims and batches anyway.
 */
export async function checkFences(trx: Transaction<Database>, dialect: SqlDialect, inputs: readonly BatchInput[]): Promise<void> {
  const fenced = inputs.filter((input) => input.batch.fence !== undefined);
  if (fenced.length === 0) return;
  // Name order, as loadAccounts locks the account rows: concurrent groups lock in one order.
  const accounts = [...new Set(fenced.map((input) => input.batch.account))].sort();
  const epochs = new Map<string, number>();
  for (const part of powerOfTwoParts(accounts, ACCOUNTS_PER_LOOKUP)) {
    const { rows } = await statementsFor(dialect).assignmentEpochs.execute<{ account: string; epoch: number | string }>(trx, part.length, part);
    for (const row of rows) epochs.set(row.account, toNumber(row.epoch));
  }
  for (const { batch } of fenced) {
    const epoch = epochs.get(batch.account);
    if (epoch === batch.fence) continue;
    throw new ScaleAgentError(
      Errors.CACHING_EPOCH_STALE,
      epoch === undefined
        ? `refusing a batch of account ${batch.account} at caching epoch ${batch.fence}: the account has no caching assignment`
        : `refusing a batch of account ${batch.account} at caching epoch ${batch.fence}: the account is at epoch ${epoch}`,
      { account: batch.account, fence: batch.fence, epoch: epoch ?? null },
    );
  }
}
