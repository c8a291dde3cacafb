import { clampText, accountFromRow, accountStateFromRow } from './rows.ts';
import { KEY_LENGTHS } from './schema.ts';
import type { SqlContext } from './sql-context.ts';
import type { SqlIngestStore } from './sql-ingest-store.ts';
import {
  UNREACHABLE_REASON_MAX_LENGTH,
  type AccountExpectation,
  type AccountRecord,
  type AccountState,
  type AccountStateReader,
  type AccountStore,
} from './types.ts';

const ACCOUNT_UPDATE_COLUMNS = [
  'api_server_host',
  'ca_fingerprint',
  'kube_system_uid',
  'kubernetes_version',
  'namespaces',
  'kinds',
  'permissions',
  'properties',
  'agent_id',
  'hub_id',
  'status',
  'unreachable_reason',
  'last_seen_at',
] as const;

/** The accounts table. Deleting an account takes its cache with it: feeds, objects, and what the ingest keeps of them in memory. */
export class SqlAccountStore implements AccountStore, AccountStateReader {
  constructor(
    private readonly ctx: SqlContext,
    private readonly ingest: Pick<SqlIngestStore, 'forgetAccount'>,
  ) {}

  async upsertAccount(account: Omit<AccountRecord, 'registeredAt' | 'lastSeenAt'>, now: number): Promise<void> {
    const { db, dialect } = this.ctx;
    await this.ctx.guard('upsertAccount', () =>
      dialect
        .upsert(
          db.insertInto('accounts').values({
            name: account.name,
            api_server_host: account.cluster.apiServerHost,
            ca_fingerprint: account.cluster.caFingerprint,
            kube_system_uid: account.cluster.kubeSystemUid,
            kubernetes_version: clampText(account.kubernetesVersion, KEY_LENGTHS.version),
            namespaces: JSON.stringify(account.namespaces),
            kinds: JSON.stringify(account.kinds),
            permissions: JSON.stringify(account.permissions),
            properties: JSON.stringify(account.properties),
            agent_id: account.agentId,
            hub_id: account.hubId,
            status: account.status,
            unreachable_reason: account.unreachableReason === undefined ? null : clampText(account.unreachableReason, UNREACHABLE_REASON_MAX_LENGTH),
            registered_at: now,
            last_seen_at: now,
            snapshot_epoch: 0,
          }),
          ['name'],
          ACCOUNT_UPDATE_COLUMNS,
        )
        .execute(),
    );
  }

  async getAccount(name: string): Promise<AccountRecord | undefined> {
    const row = await this.ctx.guard('getAccount', () => this.ctx.db.selectFrom('accounts').selectAll().where('name', '=', name).executeTakeFirst());
    return row ? accountFromRow(row) : undefined;
  }

  async listAccounts(): Promise<AccountRecord[]> {
    const rows = await this.ctx.guard('listAccounts', () => this.ctx.db.selectFrom('accounts').selectAll().orderBy('name').execute());
    return rows.map(accountFromRow);
  }

  async listAccountStates(): Promise<AccountState[]> {
    const rows = await this.ctx.guard('listAccountStates', () =>
      this.ctx.db.selectFrom('accounts').select(['name', 'status', 'unreachable_reason', 'hub_id', 'agent_id', 'last_seen_at']).orderBy('name').execute(),
    );
    return rows.map(accountStateFromRow);
  }

  async setAccountStatus(name: string, status: AccountRecord['status'], agentId: string | null, hubId: string | null, now: number): Promise<void> {
    await this.ctx.guard('setAccountStatus', () =>
      this.ctx.db.updateTable('accounts').set({ status, agent_id: agentId, hub_id: hubId, last_seen_at: now }).where('name', '=', name).execute(),
    );
  }

  async markAbandoned(name: string, hubId: string | null, since: number): Promise<boolean> {
    const result = await this.ctx.guard('markAbandoned', () =>
      this.ctx.db
        .updateTable('accounts')
        .set({ status: 'disconnected', hub_id: null, last_seen_at: since })
        .where('name', '=', name)
        .where('status', '=', 'connected')
        .where((eb) => (hubId === null ? eb('hub_id', 'is', null) : eb('hub_id', '=', hubId)))
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) > 0;
  }

  async deleteAccount(name: string, expect?: AccountExpectation): Promise<boolean> {
    return this.ctx.guard(
      'deleteAccount',
      () =>
        this.ctx.db.transaction().execute(async (trx) => {
          // The account row first: it is the lock applyBatch takes, so a batch in flight either commits
          // before this or finds the account gone, and the two never wait on each other's rows.
          const removed = await trx
            .deleteFrom('accounts')
            .where('name', '=', name)
            .$if(expect !== undefined, (q) => q.where('status', '=', expect!.status).where('last_seen_at', '=', expect!.lastSeenAt))
            .executeTakeFirst();
          // Changed since it was read (an agent registered it meanwhile): it stays, with its cache.
          if (expect !== undefined && Number(removed.numDeletedRows) === 0) return false;
          await trx.deleteFrom('feeds').where('account', '=', name).execute();
          await trx.deleteFrom('objects').where('account', '=', name).execute();
          // Inside the transaction: no group commit can run between these deletes and forgetting the rows.
          this.ingest.forgetAccount(name);
          return true;
        }),
      { transaction: true },
    );
  }
}
