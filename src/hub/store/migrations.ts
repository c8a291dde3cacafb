import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { ScaleAgentError, Errors } from '../../common/errors.ts';
import type { SqlDialect } from './dialect.ts';
import { KEY_LENGTHS as L } from './schema.ts';

/**
 * The ordered schema history. Migrations are named so that they sort in order; a released migration is
 * never edited, a change is a new entry. Applied names are recorded in `schema_migrations` (Kysely's
 * migrator, whose lock table keeps two hub replicas from migrating at once).
 */
export const MIGRATION_TABLE = 'schema_migrations';
export const MIGRATION_LOCK_TABLE = 'schema_migrations_lock';

function migrations(d: SqlDialect): Record<string, Migration> {
  return {
    '0001_initial': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('accounts')
          .addColumn('name', d.key(L.account), (c) => c.primaryKey())
          .addColumn('api_server_host', d.text, (c) => c.notNull())
          .addColumn('ca_fingerprint', d.text, (c) => c.notNull())
          .addColumn('kube_system_uid', d.key(L.uid), (c) => c.notNull())
          .addColumn('kubernetes_version', d.key(L.version), (c) => c.notNull())
          .addColumn('namespaces', d.text, (c) => c.notNull())
          .addColumn('kinds', d.text, (c) => c.notNull())
          .addColumn('permissions', d.text, (c) => c.notNull())
          .addColumn('properties', d.text, (c) => c.notNull())
          .addColumn('agent_id', d.key(L.agentId))
          .addColumn('hub_id', d.key(L.hubId))
          .addColumn('status', d.key(L.status), (c) => c.notNull())
          .addColumn('registered_at', d.bigint, (c) => c.notNull())
          .addColumn('last_seen_at', d.bigint, (c) => c.notNull())
          .addColumn('snapshot_epoch', d.bigint, (c) => c.notNull().defaultTo(0))
          .execute();

        await db.schema
          .createTable('feeds')
          .addColumn('account', d.key(L.account), (c) => c.notNull())
          .addColumn('api_group', d.key(L.group, 'ascii'), (c) => c.notNull())
          .addColumn('kind', d.key(L.kind, 'ascii'), (c) => c.notNull())
          .addColumn('namespace', d.key(L.namespace, 'ascii'), (c) => c.notNull())
          .addColumn('version', d.key(L.version), (c) => c.notNull())
          .addColumn('resource', d.key(L.resource), (c) => c.notNull())
          .addColumn('namespaced', d.integer, (c) => c.notNull())
          .addColumn('resume_rv', d.key(L.resourceVersion), (c) => c.notNull())
          .addColumn('epoch', d.bigint, (c) => c.notNull())
          .addColumn('snapshot_id', d.key(L.snapshotId), (c) => c.notNull())
          .addColumn('updated_at', d.bigint, (c) => c.notNull())
          .addPrimaryKeyConstraint('feeds_pk', ['account', 'api_group', 'kind', 'namespace'])
          .execute();

        await db.schema
          .createTable('objects')
          .addColumn('account', d.key(L.account), (c) => c.notNull())
          .addColumn('api_group', d.key(L.group, 'ascii'), (c) => c.notNull())
          .addColumn('kind', d.key(L.kind, 'ascii'), (c) => c.notNull())
          .addColumn('namespace', d.key(L.namespace, 'ascii'), (c) => c.notNull())
          .addColumn('name', d.key(L.name), (c) => c.notNull())
          .addColumn('version', d.key(L.version), (c) => c.notNull())
          .addColumn('uid', d.key(L.uid), (c) => c.notNull())
          .addColumn('resource_version', d.key(L.resourceVersion), (c) => c.notNull())
          .addColumn('body', d.text, (c) => c.notNull())
          .addColumn('application', d.key(L.application))
          .addColumn('cluster', d.key(L.cluster))
          .addColumn('created_at', d.bigint)
          .addColumn('epoch', d.bigint, (c) => c.notNull())
          .addColumn('updated_at', d.bigint, (c) => c.notNull())
          .addPrimaryKeyConstraint('objects_pk', ['account', 'api_group', 'kind', 'namespace', 'name'])
          .execute();
        await db.schema.createIndex('objects_application').on('objects').columns(['application']).execute();
        // Lookups by account, kind and namespace use the primary key's prefix (account, api_group, kind,
        // namespace); a separate index would cost a fifth of the ingest rate for no reader.

        await db.schema
          .createTable('tasks')
          .addColumn('id', d.key(L.id), (c) => c.primaryKey())
          .addColumn('request_id', d.key(L.requestId))
          .addColumn('account', d.key(L.account))
          .addColumn('operation_type', d.key(L.operationType), (c) => c.notNull())
          .addColumn('state', d.key(L.status), (c) => c.notNull())
          .addColumn('history', d.text, (c) => c.notNull())
          .addColumn('result_objects', d.text, (c) => c.notNull())
          .addColumn('request', d.text, (c) => c.notNull())
          .addColumn('owner_hub_id', d.key(L.hubId), (c) => c.notNull())
          .addColumn('created_at', d.bigint, (c) => c.notNull())
          .addColumn('updated_at', d.bigint, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('tasks_request_id').on('tasks').columns(['request_id']).execute();
        await db.schema.createIndex('tasks_created_at').on('tasks').columns(['created_at']).execute();

        await db.schema
          .createTable('operations')
          .addColumn('id', d.key(L.id), (c) => c.primaryKey())
          .addColumn('task_id', d.key(L.id))
          .addColumn('account', d.key(L.account), (c) => c.notNull())
          .addColumn('type', d.key(L.operationType), (c) => c.notNull())
          .addColumn('status', d.key(L.status), (c) => c.notNull())
          .addColumn('http_status', d.integer)
          .addColumn('error_code', d.key(L.errorCode))
          .addColumn('message', d.text)
          .addColumn('agent_id', d.key(L.agentId))
          .addColumn('received_at', d.bigint, (c) => c.notNull())
          .addColumn('routed_at', d.bigint)
          .addColumn('sent_at', d.bigint)
          .addColumn('executed_at', d.bigint)
          .addColumn('result_at', d.bigint)
          .execute();
        await db.schema.createIndex('operations_received_at').on('operations').columns(['received_at']).execute();
        await db.schema.createIndex('operations_task_id').on('operations').columns(['task_id']).execute();
      },
    },
  };
}

export async function runMigrations(db: Kysely<unknown>, dialect: SqlDialect): Promise<string[]> {
  const list = migrations(dialect);
  const provider: MigrationProvider = { getMigrations: async () => list };
  const migrator = new Migrator({ db, provider, migrationTableName: MIGRATION_TABLE, migrationLockTableName: MIGRATION_LOCK_TABLE });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new ScaleAgentError(Errors.STORE_ERROR, `schema migration ${failed} failed: ${(error as Error).message ?? String(error)}`, { migration: failed }, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
