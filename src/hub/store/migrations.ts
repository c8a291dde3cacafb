import { Migrator, type CreateTableBuilder, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { setTimeout as sleep } from 'node:timers/promises';
import { ScaleAgentError, Errors } from '../../common/errors.ts';
import type { SqlDialect } from './dialect.ts';
import { KEY_LENGTHS as L } from './schema.ts';

/**
 * The ordered schema history. Migrations are named so that they sort in order; a released migration is
 * never edited, a change is a new entry. Applied names are recorded in `schema_migrations`. Two hub
 * replicas starting at once on one database are kept apart by the engine's lock (PostgreSQL: an
 * advisory lock; MySQL: GET_LOCK); the replica that waited then finds nothing left to do. Statements are
 * written to be re-runnable (IF NOT EXISTS), because MySQL cannot roll DDL back: a migration interrupted
 * half-way is completed by the next start. SQLite has no such lock, so a start that lost the race
 * (SQLITE_BUSY) tries again and finds the schema in place.
 */
export const MIGRATION_TABLE = 'schema_migrations';
export const MIGRATION_LOCK_TABLE = 'schema_migrations_lock';

/** CREATE TABLE IF NOT EXISTS with the dialect's table options. */
function createTable(db: Kysely<unknown>, d: SqlDialect, name: string): CreateTableBuilder<string, never> {
  const builder = db.schema.createTable(name).ifNotExists();
  return d.tableOptions === undefined ? builder : builder.modifyEnd(d.tableOptions);
}

/** CREATE INDEX that tolerates an existing index (MySQL has no CREATE INDEX IF NOT EXISTS). */
async function createIndex(db: Kysely<unknown>, d: SqlDialect, name: string, table: string, columns: string[]): Promise<void> {
  if (d.name !== 'mysql') {
    await db.schema.createIndex(name).ifNotExists().on(table).columns(columns).execute();
    return;
  }
  try {
    await db.schema.createIndex(name).on(table).columns(columns).execute();
  } catch (err) {
    if (!d.isDuplicateIndex(err)) throw err;
  }
}

/** DROP INDEX that tolerates a missing index (MySQL names the table and has no IF EXISTS). */
async function dropIndex(db: Kysely<unknown>, d: SqlDialect, name: string, table: string): Promise<void> {
  if (d.name !== 'mysql') {
    await db.schema.dropIndex(name).ifExists().execute();
    return;
  }
  try {
    await db.schema.dropIndex(name).on(table).execute();
  } catch (err) {
    if (!d.isMissingIndex(err)) throw err;
  }
}

/** ADD COLUMN once: a re-run (MySQL cannot roll DDL back) finds the column and leaves it. */
async function addColumnOnce(
  db: Kysely<unknown>,
  table: string,
  column: string,
  type: Parameters<CreateTableBuilder<string, never>['addColumn']>[1],
): Promise<void> {
  // Introspection, not a probing SELECT: a failed statement would abort PostgreSQL's migration transaction.
  const tables = await db.introspection.getTables();
  if (tables.some((t) => t.name === table && t.columns.some((c) => c.name === column))) return;
  await db.schema.alterTable(table).addColumn(column, type).execute();
}

function migrations(d: SqlDialect): Record<string, Migration> {
  return {
    '0001_initial': {
      async up(db: Kysely<unknown>) {
        await createTable(db, d, 'accounts')
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

        await createTable(db, d, 'feeds')
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

        await createTable(db, d, 'objects')
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
        await createIndex(db, d, 'objects_application', 'objects', ['application']);
        // Lookups by account, kind and namespace use the primary key's prefix (account, api_group, kind,
        // namespace); a separate index would cost a fifth of the ingest rate for no reader.

        await createTable(db, d, 'tasks')
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
        await createIndex(db, d, 'tasks_request_id', 'tasks', ['request_id']);
        await createIndex(db, d, 'tasks_created_at', 'tasks', ['created_at']);

        await createTable(db, d, 'operations')
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
        await createIndex(db, d, 'operations_received_at', 'operations', ['received_at']);
        await createIndex(db, d, 'operations_task_id', 'operations', ['task_id']);
      },
    },
    '0002_objects_kind_application': {
      // The application views (src/hub/views): an application's workloads and load balancers by kind
      // (`kind IN … AND api_group IN … AND application = ?`), and every application's clusters
      // (`kind IN … AND application IS NOT NULL`) without reading object bodies. SQLite also carries
      // `cluster`, so listing clusters never reads a row (its column sits after the body, often in
      // overflow pages). PostgreSQL and MySQL stop at `account`: their index entries have a size limit
      // (≈2.7 KB, 3 KB) that a long multi-byte cluster annotation could break, failing an ingest batch.
      async up(db: Kysely<unknown>) {
        const columns = ['kind', 'api_group', 'application', 'account'];
        await createIndex(db, d, 'objects_kind_application', 'objects', d.name === 'sqlite' ? [...columns, 'cluster'] : columns);
      },
    },
    '0003_tasks_state': {
      // Task recovery: a starting hub looks for its STARTED tasks, and every hub periodically for
      // STARTED tasks nobody updated lately (their replica died) — `state = ? [AND owner] AND updated_at < ?`.
      async up(db: Kysely<unknown>) {
        await createIndex(db, d, 'tasks_state_updated_at', 'tasks', ['state', 'updated_at']);
      },
    },
    '0005_feeds_digest': {
      // Anti-entropy results per feed, so every replica's account view can say whether the cache
      // matched the agent's at the last comparison (docs/architecture.md, "Anti-entropy").
      async up(db: Kysely<unknown>) {
        await addColumnOnce(db, 'feeds', 'digest_checked_at', d.bigint);
        await addColumnOnce(db, 'feeds', 'diverged_since', d.bigint);
        await addColumnOnce(db, 'feeds', 'divergences', d.bigint);
      },
    },
    '0006_feeds_digest_due': {
      // Since when a feed's digest is awaited: set when its agent's sync stream (re)opens, cleared by a
      // matching comparison, so every replica's account view can say that a cache has not been checked
      // since the reconnect.
      async up(db: Kysely<unknown>) {
        await addColumnOnce(db, 'feeds', 'digest_due_since', d.bigint);
      },
    },
    '0007_tasks_created_by': {
      // Who created each task, so that a repeated clientRequestId finds only its own caller's task
      // (docs/security.md, "What each permission allows"). Tasks stored before have none (NULL).
      async up(db: Kysely<unknown>) {
        await addColumnOnce(db, 'tasks', 'created_by', d.key(L.createdBy));
      },
    },
    '0008_replicas_and_caching_assignments': {
      // High availability (several hub replicas on one database): each replica's heartbeat, and per
      // account the (replica, session) that caches it under a lease, with the fencing epoch every batch
      // is checked against (docs/architecture.md, "Glossary": replica, caching assignment, fencing epoch).
      async up(db: Kysely<unknown>) {
        await createTable(db, d, 'hub_replicas')
          .addColumn('hub_id', d.key(L.hubId), (c) => c.primaryKey())
          .addColumn('started_at', d.bigint, (c) => c.notNull())
          .addColumn('heartbeat_at', d.bigint, (c) => c.notNull())
          .addColumn('rest_url', d.key(L.restUrl))
          .addColumn('grpc_address', d.key(L.grpcAddress))
          .execute();

        await createTable(db, d, 'caching_assignments')
          .addColumn('account', d.key(L.account), (c) => c.primaryKey())
          .addColumn('hub_id', d.key(L.hubId), (c) => c.notNull())
          .addColumn('session_id', d.key(L.sessionId), (c) => c.notNull())
          .addColumn('agent_id', d.key(L.agentId), (c) => c.notNull())
          .addColumn('epoch', d.bigint, (c) => c.notNull())
          .addColumn('lease_expires_at', d.bigint, (c) => c.notNull())
          .addColumn('updated_at', d.bigint, (c) => c.notNull())
          .execute();
        // releaseReplica (a replica stops or is found dead): its rows without reading, or locking, the others'.
        await createIndex(db, d, 'caching_assignments_hub_id', 'caching_assignments', ['hub_id']);
      },
    },
    '0009_relayed_operations': {
      // Operations relayed between hub replicas through the database (docs/architecture.md, "Operation
      // relay"): claimable rows by status, the submitter's finished rows, and a dead claimer's rows.
      async up(db: Kysely<unknown>) {
        await createTable(db, d, 'relayed_operations')
          .addColumn('id', d.key(L.id), (c) => c.primaryKey())
          .addColumn('account', d.key(L.account), (c) => c.notNull())
          .addColumn('origin_hub_id', d.key(L.hubId), (c) => c.notNull())
          .addColumn('status', d.key(L.status), (c) => c.notNull())
          .addColumn('claimed_by', d.key(L.hubId))
          .addColumn('request', d.text, (c) => c.notNull())
          .addColumn('deadline_at', d.bigint, (c) => c.notNull())
          .addColumn('outcome', d.text)
          .addColumn('created_at', d.bigint, (c) => c.notNull())
          .addColumn('updated_at', d.bigint, (c) => c.notNull())
          .execute();
        await createIndex(db, d, 'relayed_operations_status', 'relayed_operations', ['status', 'created_at']);
        await createIndex(db, d, 'relayed_operations_origin', 'relayed_operations', ['origin_hub_id', 'status']);
        await createIndex(db, d, 'relayed_operations_deadline', 'relayed_operations', ['deadline_at']);
      },
    },
    '0010_account_unreachable_reason': {
      // An account its agent is configured for but cannot serve (cluster unreachable, credentials
      // unreadable) stays registered with the reason, instead of being forgotten with its cache.
      async up(db: Kysely<unknown>) {
        await addColumnOnce(db, 'accounts', 'unreachable_reason', d.text);
      },
    },
    '0011_account_definitions': {
      // Dynamic accounts: definitions operators write through the REST API, which every replica
      // pushes to its agents (src/hub/definitions). A small table read whole; no index beyond the key.
      async up(db: Kysely<unknown>) {
        await createTable(db, d, 'account_definitions')
          .addColumn('name', d.key(L.account), (c) => c.primaryKey())
          .addColumn('definition', d.text, (c) => c.notNull())
          .addColumn('zone_id', d.key(L.zoneId))
          .addColumn('desired_state', d.key(L.status), (c) => c.notNull())
          .addColumn('revision', d.bigint, (c) => c.notNull())
          .addColumn('created_at', d.bigint, (c) => c.notNull())
          .addColumn('created_by', d.key(L.createdBy), (c) => c.notNull())
          .addColumn('updated_at', d.bigint, (c) => c.notNull())
          .addColumn('updated_by', d.key(L.createdBy), (c) => c.notNull())
          .execute();
      },
    },
    '0012_operations_account': {
      // The newest operations of the accounts a caller may read (the status page, /admin/operations):
      // without it, a caller whose accounts saw no recent operation makes the query walk the whole table.
      async up(db: Kysely<unknown>) {
        await createIndex(db, d, 'operations_account_received_at', 'operations', ['account', 'received_at']);
      },
    },
    '0004_drop_objects_application': {
      // Every query by application now also names the kinds (all the feeds' kinds when the caller gave
      // none), so objects_kind_application serves them all. Keeping a second index ordered by
      // application cost every ingested row about a fifth of its insert: each batch is one account, and
      // an application-ordered index puts its rows on as many leaf pages as it has applications
      // (docs/performance.md, "scale").
      async up(db: Kysely<unknown>) {
        await dropIndex(db, d, 'objects_application', 'objects');
      },
    },
  };
}

/** The names of every migration, in order (what `schema_migrations` holds once migrated). */
export function migrationNames(dialect: SqlDialect): string[] {
  return Object.keys(migrations(dialect)).sort();
}

/** Attempts at migrating before giving up: a lost race on SQLite, or a deadlock, is worth another try. */
const MIGRATION_ATTEMPTS = 3;

export async function runMigrations(db: Kysely<unknown>, dialect: SqlDialect): Promise<string[]> {
  const list = migrations(dialect);
  const provider: MigrationProvider = { getMigrations: async () => list };
  const migrator = new Migrator({ db, provider, migrationTableName: MIGRATION_TABLE, migrationLockTableName: MIGRATION_LOCK_TABLE });
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    if (!error) return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    if (attempt >= MIGRATION_ATTEMPTS) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
      throw new ScaleAgentError(
        Errors.STORE_ERROR,
        `schema migration ${failed} failed: ${(error as Error).message ?? String(error)}`,
        { migration: failed },
        { cause: error },
      );
    }
    await sleep(100 * attempt + Math.floor(Math.random() * 100));
  }
}
