import { clampText, replicaFromRow } from './rows.ts';
import { KEY_LENGTHS } from './schema.ts';
import type { SqlContext } from './sql-context.ts';
import type { ReplicaRecord, ReplicaStore } from './types.ts';

/** What a heartbeat rewrites of a replica's row: a replica restarted under the same id starts afresh. */
const HEARTBEAT_UPDATE_COLUMNS = ['started_at', 'heartbeat_at', 'rest_url', 'grpc_address'] as const;

/** The hub_replicas table: one row per replica, written by its own heartbeats. */
export class SqlReplicaStore implements ReplicaStore {
  constructor(private readonly ctx: SqlContext) {}

  async heartbeat(replica: Omit<ReplicaRecord, 'heartbeatAt'>, now: number): Promise<void> {
    const { db, dialect } = this.ctx;
    await this.ctx.guard('heartbeat', () =>
      dialect
        .upsert(
          db.insertInto('hub_replicas').values({
            hub_id: replica.hubId,
            started_at: replica.startedAt,
            heartbeat_at: now,
            // Announced addresses are for operators to read: a long one is cut rather than failing the beat.
            rest_url: clampText(replica.restUrl, KEY_LENGTHS.restUrl),
            grpc_address: clampText(replica.grpcAddress, KEY_LENGTHS.grpcAddress),
          }),
          ['hub_id'],
          HEARTBEAT_UPDATE_COLUMNS,
        )
        .execute(),
    );
  }

  async listReplicas(): Promise<ReplicaRecord[]> {
    const rows = await this.ctx.guard('listReplicas', () =>
      this.ctx.db.selectFrom('hub_replicas').selectAll().orderBy('heartbeat_at', 'desc').orderBy('hub_id').execute(),
    );
    return rows.map(replicaFromRow);
  }

  async removeReplica(hubId: string): Promise<void> {
    await this.ctx.guard('removeReplica', () => this.ctx.db.deleteFrom('hub_replicas').where('hub_id', '=', hubId).execute());
  }

  async pruneReplicas(heartbeatBefore: number): Promise<number> {
    const result = await this.ctx.guard('pruneReplicas', () =>
      this.ctx.db.deleteFrom('hub_replicas').where('heartbeat_at', '<', heartbeatBefore).executeTakeFirst(),
    );
    return Number(result.numDeletedRows);
  }
}
