import { sql, type ExpressionBuilder } from 'kysely';
import { Errors, ScaleAgentError } from '../../common/errors.ts';
import { assignmentFromRow } from './rows.ts';
import type { Database } from './schema.ts';
import type { SqlContext } from './sql-context.ts';
import type { AssignmentStore, CachingAssignment, CachingClaim, CachingOwner } from './types.ts';

/** lease_expires_at of a released assignment. */
const RELEASED = 0;
/** The epoch of an account's first claim. */
const FIRST_EPOCH = 1;

type Assignments = ExpressionBuilder<Database, 'caching_assignments'>;

/**
 * `owner` holds the row: it is the row's (replica, session) and has not released it. Its lease may have
 * lapsed: as long as nobody else claimed the account meanwhile (which would have changed the owner and
 * the epoch), nobody else wrote under another epoch, so the owner keeps its epoch when it claims or
 * renews again.
 */
function heldBy(eb: Assignments, owner: CachingOwner) {
  return eb.and([eb('hub_id', '=', owner.hubId), eb('session_id', '=', owner.sessionId), eb('lease_expires_at', '>', RELEASED)]);
}

/**
 * The caching_assignments table: per account, the (replica, session) that caches it, its lease and its
 * fencing epoch. A row is never deleted (a release sets the lease to 0 and keeps the epoch), so an epoch
 * is never handed out twice for an account, even across the account's deletion and re-registration.
 * The ingest checks batches against it (ingest-fence.ts).
 */
export class SqlAssignmentStore implements AssignmentStore {
  constructor(private readonly ctx: SqlContext) {}

  /**
   * One transaction. Mostly one conditional UPDATE, which takes the account's row only while `owner`
   * holds it or the lease has expired, and a read of the row back. The UPDATE is what makes racing
   * claims safe on every engine: PostgreSQL and InnoDB re-check its WHERE on the row's latest version
   * once a competing claim's lock is released (the loser then finds a live lease held by someone else
   * and updates nothing), and SQLite runs one writer at a time. A refused claim keeps no lock. Only an
   * account never claimed has no row to update: then the claim inserts it at epoch 1 unless a racing
   * claim inserted it first, and is granted when the row read back is its own. Only the assignment row
   * is locked, never the account row, so a claim cannot deadlock with a batch (which locks the account
   * row, then the assignment row).
   */
  async claimCaching(account: string, owner: CachingOwner, now: number, leaseMs: number): Promise<CachingClaim> {
    const { db, dialect } = this.ctx;
    const leaseExpiresAt = now + leaseMs;
    const { granted, row } = await this.ctx.guard(
      'claimCaching',
      () =>
        db.transaction().execute(async (trx) => {
          const result = await trx
            .updateTable('caching_assignments')
            .set((eb) => ({
              // First: MySQL evaluates assignments left to right and later ones would see the new owner.
              // The same owner keeps its epoch; a change of hands (or a claim after a release) takes the next.
              epoch: eb
                .case()
                .when(heldBy(eb, owner))
                .then(eb.ref('epoch'))
                .else(sql<number>`${sql.ref('epoch')} + 1`)
                .end(),
              hub_id: owner.hubId,
              session_id: owner.sessionId,
              agent_id: owner.agentId,
              lease_expires_at: leaseExpiresAt,
              updated_at: now,
            }))
            .where('account', '=', account)
            .where((eb) => eb.or([heldBy(eb, owner), eb('lease_expires_at', '<=', now)]))
            .executeTakeFirst();
          // Matched rows (mysql2 asks for CLIENT_FOUND_ROWS), so a repeated claim at the same instant counts.
          const updated = Number(result.numUpdatedRows) > 0;
          const read = () => trx.selectFrom('caching_assignments').selectAll().where('account', '=', account).executeTakeFirst();
          // Granted: our own row, which this transaction holds. Refused: the holder's as last committed.
          let current = await read();
          if (!updated && current === undefined) {
            // Never claimed: insert the row at the first epoch, unless a racing claim just did.
            await dialect
              .insertIfAbsent(
                trx.insertInto('caching_assignments').values({
                  account,
                  hub_id: owner.hubId,
                  session_id: owner.sessionId,
                  agent_id: owner.agentId,
                  epoch: FIRST_EPOCH,
                  lease_expires_at: leaseExpiresAt,
                  updated_at: now,
                }),
                ['account'],
              )
              .execute();
            current = await read();
          }
          if (current === undefined) {
            throw new ScaleAgentError(Errors.STORE_ERROR, `the caching assignment of ${account} vanished during its claim`, { account });
          }
          // Without the UPDATE the row is ours only if the insert made it (the owner's own row would have
          // matched the UPDATE).
          return { granted: updated || (current.hub_id === owner.hubId && current.session_id === owner.sessionId), row: current };
        }),
      { transaction: true },
    );
    const assignment = assignmentFromRow(row);
    return granted ? { granted: true, epoch: assignment.epoch } : { granted: false, holder: assignment };
  }

  /**
   * One transaction: an UPDATE of the replica's held rows for those sessions, then their read-back. It
   * locks only assignment rows, one replica's, as a claim does one row: no lock order it could deadlock
   * with a batch (account row, then assignment row) or a claim.
   */
  async renewSessions(hubId: string, sessionIds: readonly string[], now: number, leaseMs: number): Promise<CachingAssignment[]> {
    if (sessionIds.length === 0) return [];
    const rows = await this.ctx.guard(
      'renewSessions',
      () =>
        this.ctx.db.transaction().execute(async (trx) => {
          await trx
            .updateTable('caching_assignments')
            .set({ lease_expires_at: now + leaseMs, updated_at: now })
            .where('hub_id', '=', hubId)
            .where('session_id', 'in', [...sessionIds])
            .where('lease_expires_at', '>', RELEASED)
            .execute();
          return trx
            .selectFrom('caching_assignments')
            .selectAll()
            .where('hub_id', '=', hubId)
            .where('session_id', 'in', [...sessionIds])
            .where('lease_expires_at', '>', RELEASED)
            .execute();
        }),
      { transaction: true },
    );
    return rows.map(assignmentFromRow);
  }

  async releaseCaching(account: string, owner: CachingOwner, epoch: number): Promise<void> {
    await this.ctx.guard('releaseCaching', () =>
      this.ctx.db
        .updateTable('caching_assignments')
        .set({ lease_expires_at: RELEASED })
        .where('account', '=', account)
        .where('epoch', '=', epoch)
        .where((eb) => heldBy(eb, owner))
        .execute(),
    );
  }

  async releaseReplica(hubId: string): Promise<number> {
    const result = await this.ctx.guard('releaseReplica', () =>
      this.ctx.db
        .updateTable('caching_assignments')
        .set({ lease_expires_at: RELEASED })
        .where('hub_id', '=', hubId)
        .where('lease_expires_at', '>', RELEASED)
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows);
  }

  async getAssignment(account: string): Promise<CachingAssignment | undefined> {
    const row = await this.ctx.guard('getAssignment', () =>
      this.ctx.db.selectFrom('caching_assignments').selectAll().where('account', '=', account).executeTakeFirst(),
    );
    return row ? assignmentFromRow(row) : undefined;
  }

  async listAssignments(): Promise<CachingAssignment[]> {
    const rows = await this.ctx.guard('listAssignments', () => this.ctx.db.selectFrom('caching_assignments').selectAll().orderBy('account').execute());
    return rows.map(assignmentFromRow);
  }
}
