import type { SqlContext } from './sql-context.ts';
import { toNumber } from './rows.ts';
import type { RelayClaimScope, RelayedClaim, RelayedOperation, RelayExpectation, RelayStatus, RelayStore } from './types.ts';

const QUEUED: RelayStatus = 'QUEUED';
const CLAIMED: RelayStatus = 'CLAIMED';
const SENT: RelayStatus = 'SENT';
const DONE: RelayStatus = 'DONE';

/**
 * The relayed_operations table (RelayStore): each transition is one UPDATE conditional on the row's
 * status (and claimer), which every engine applies atomically per row, so racing replicas never both
 * win. No transaction spans two statements.
 */
export class SqlRelayStore implements RelayStore {
  constructor(private readonly ctx: SqlContext) {}

  async enqueueRelayed(op: RelayedOperation, now: number): Promise<void> {
    await this.ctx.guard('enqueueRelayed', () =>
      this.ctx.db
        .insertInto('relayed_operations')
        .values({
          id: op.id,
          account: op.account,
          origin_hub_id: op.originHubId,
          status: QUEUED,
          claimed_by: null,
          request: op.request,
          deadline_at: op.deadlineAt,
          outcome: null,
          created_at: op.createdAt,
          updated_at: now,
        })
        .execute(),
    );
  }

  async listQueuedRelayed(now: number, limit: number): Promise<Array<Pick<RelayedOperation, 'id' | 'account' | 'createdAt'>>> {
    const rows = await this.ctx.guard('listQueuedRelayed', () =>
      this.ctx.db
        .selectFrom('relayed_operations')
        .select(['id', 'account', 'created_at'])
        .where('status', '=', QUEUED)
        .where('deadline_at', '>', now)
        .orderBy('created_at')
        .orderBy('id')
        .limit(limit)
        .execute(),
    );
    return rows.map((r) => ({ id: r.id, account: r.account, createdAt: toNumber(r.created_at) }));
  }

  async claimRelayed(id: string, hubId: string, now: number): Promise<RelayedOperation | undefined> {
    const { db } = this.ctx;
    const claimed = await this.ctx.guard('claimRelayed', () =>
      db
        .updateTable('relayed_operations')
        .set({ status: CLAIMED, claimed_by: hubId, updated_at: now })
        .where('id', '=', id)
        .where('status', '=', QUEUED)
        .where('deadline_at', '>', now)
        .executeTakeFirst(),
    );
    if (Number(claimed.numUpdatedRows) === 0) return undefined;
    const row = await this.ctx.guard('claimRelayed', () =>
      db
        .selectFrom('relayed_operations')
        .select(['id', 'account', 'origin_hub_id', 'request', 'deadline_at', 'created_at'])
        .where('id', '=', id)
        .where('claimed_by', '=', hubId)
        .executeTakeFirst(),
    );
    if (row === undefined) return undefined;
    return {
      id: row.id,
      account: row.account,
      originHubId: row.origin_hub_id,
      request: row.request,
      deadlineAt: toNumber(row.deadline_at),
      createdAt: toNumber(row.created_at),
    };
  }

  markRelayedSent(id: string, hubId: string, now: number): Promise<boolean> {
    return this.move('markRelayedSent', id, { statuses: [CLAIMED], claimedBy: hubId }, { status: SENT, updated_at: now });
  }

  unclaimRelayed(id: string, hubId: string, now: number): Promise<boolean> {
    return this.move('unclaimRelayed', id, { statuses: [CLAIMED], claimedBy: hubId }, { status: QUEUED, claimed_by: null, updated_at: now });
  }

  completeRelayed(id: string, outcome: string, expect: RelayExpectation, now: number): Promise<boolean> {
    return this.move('completeRelayed', id, expect, { status: DONE, outcome, updated_at: now });
  }

  async listClaimedRelayed(scope: RelayClaimScope, limit: number): Promise<RelayedClaim[]> {
    const rows = await this.ctx.guard('listClaimedRelayed', () => {
      let query = this.ctx.db
        .selectFrom('relayed_operations')
        .select(['id', 'account', 'origin_hub_id', 'status', 'claimed_by', 'deadline_at'])
        .where('status', 'in', [CLAIMED, SENT]);
      if (scope.claimedBy !== undefined) query = query.where('claimed_by', '=', scope.claimedBy);
      if (scope.exceptHubs !== undefined && scope.exceptHubs.length > 0) query = query.where('claimed_by', 'not in', [...scope.exceptHubs]);
      return query.orderBy('created_at').orderBy('id').limit(limit).execute();
    });
    return rows.map((r) => ({
      id: r.id,
      account: r.account,
      originHubId: r.origin_hub_id,
      status: r.status === SENT ? 'SENT' : 'CLAIMED',
      claimedBy: r.claimed_by ?? '',
      deadlineAt: toNumber(r.deadline_at),
    }));
  }

  async relayedStatus(id: string): Promise<RelayStatus | undefined> {
    const row = await this.ctx.guard('relayedStatus', () =>
      this.ctx.db.selectFrom('relayed_operations').select('status').where('id', '=', id).executeTakeFirst(),
    );
    return row === undefined ? undefined : (row.status as RelayStatus);
  }

  async finishedRelayed(originHubId: string, limit: number): Promise<Array<{ id: string; outcome: string }>> {
    const rows = await this.ctx.guard('finishedRelayed', () =>
      this.ctx.db
        .selectFrom('relayed_operations')
        .select(['id', 'outcome'])
        .where('origin_hub_id', '=', originHubId)
        .where('status', '=', DONE)
        .limit(limit)
        .execute(),
    );
    return rows.map((r) => ({ id: r.id, outcome: r.outcome ?? 'null' }));
  }

  async deleteRelayed(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.ctx.guard('deleteRelayed', () =>
      this.ctx.db
        .deleteFrom('relayed_operations')
        .where('id', 'in', [...ids])
        .execute(),
    );
  }

  async pruneRelayed(before: number): Promise<number> {
    const result = await this.ctx.guard('pruneRelayed', () =>
      this.ctx.db.deleteFrom('relayed_operations').where('deadline_at', '<', before).executeTakeFirst(),
    );
    return Number(result.numDeletedRows);
  }

  private async move(
    what: string,
    id: string,
    expect: RelayExpectation,
    set: { status: RelayStatus; claimed_by?: null; outcome?: string; updated_at: number },
  ): Promise<boolean> {
    if (expect.statuses.length === 0) return false;
    const result = await this.ctx.guard(what, () => {
      let update = this.ctx.db
        .updateTable('relayed_operations')
        .set(set)
        .where('id', '=', id)
        .where('status', 'in', [...expect.statuses]);
      if (expect.claimedBy !== undefined) update = update.where('claimed_by', '=', expect.claimedBy);
      return update.executeTakeFirst();
    });
    return Number(result.numUpdatedRows) > 0;
  }
}
