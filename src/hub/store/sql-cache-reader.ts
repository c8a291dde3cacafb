import { sql, type Selectable, type SelectQueryBuilder } from 'kysely';
import { clampText, objectFromRow, toNullableNumber, toNumber } from './rows.ts';
import { KEY_LENGTHS, type Database, type ObjectsTable } from './schema.ts';
import type { SqlContext } from './sql-context.ts';
import { asciiKeys } from './storable-keys.ts';
import type {
  AccountFeedState,
  ApplicationClusterRow,
  ApplicationScope,
  CacheReader,
  CachedObject,
  FeedDigestState,
  NamespacedObjectQuery,
  ObjectQuery,
  ObjectSearch,
  ObjectVersion,
  StoreGroupKind,
} from './types.ts';

/**
 * An object version without its body. These columns precede `body` in the row, so SQLite reads them
 * without following a large body into its overflow pages.
 */
const VERSION_COLUMNS = ['account', 'api_group', 'kind', 'namespace', 'name', 'uid', 'resource_version'] as const;

type NamespacedSelect = SelectQueryBuilder<Database, 'objects', object>;

function versionFromRow(row: Pick<Selectable<ObjectsTable>, (typeof VERSION_COLUMNS)[number]>): ObjectVersion {
  return {
    account: row.account,
    group: row.api_group,
    kind: row.kind,
    namespace: row.namespace,
    name: row.name,
    uid: row.uid,
    resourceVersion: row.resource_version,
  };
}

/** Keys (namespaces, names) per `IN (…)` list of the views' lookups. */
const VIEW_KEYS_PER_STATEMENT = 500;

function distinct<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

function chunked<T>(values: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size));
  return out;
}

function kindKey(group: string, kind: string): string {
  return `${group}/${kind}`;
}

function kindSet(kinds: readonly StoreGroupKind[]): Set<string> {
  return new Set(kinds.map((k) => kindKey(k.group, k.kind)));
}

/** The cache's reads: objects, the application views' indexed lookups, search, and the feeds' digest states. */
export class SqlCacheReader implements CacheReader {
  constructor(private readonly ctx: SqlContext) {}

  async getObject(account: string, group: string, kind: string, namespace: string, name: string): Promise<CachedObject | undefined> {
    if (!asciiKeys(group, kind, namespace)) return undefined;
    const row = await this.ctx.guard('getObject', () =>
      this.ctx.db
        .selectFrom('objects')
        .selectAll()
        .where('account', '=', account)
        .where('api_group', '=', group)
        .where('kind', '=', kind)
        .where('namespace', '=', namespace)
        .where('name', '=', name)
        .executeTakeFirst(),
    );
    return row ? objectFromRow(row) : undefined;
  }

  async listObjects(query: ObjectQuery): Promise<CachedObject[]> {
    if (!asciiKeys(query.group, query.kind, query.namespace)) return [];
    let q = this.ctx.db.selectFrom('objects').selectAll();
    if (query.account !== undefined) q = q.where('account', '=', query.account);
    if (query.group !== undefined) q = q.where('api_group', '=', query.group);
    if (query.kind !== undefined) q = q.where('kind', '=', query.kind);
    if (query.namespace !== undefined) q = q.where('namespace', '=', query.namespace);
    if (query.name !== undefined) q = q.where('name', '=', query.name);
    if (query.application !== undefined) {
      q = q.where('application', '=', clampText(query.application, KEY_LENGTHS.application));
      if (query.kind === undefined && query.kinds === undefined) {
        const watched = await this.watchedKinds(query.group);
        if (watched === undefined) return [];
        q = q.where('kind', 'in', watched.kinds).where('api_group', 'in', watched.groups);
      }
    }
    if (query.kinds !== undefined) {
      const kinds = query.kinds;
      if (kinds.length === 0) return [];
      q = q.where((eb) => eb.or(kinds.map((k) => eb.and([eb('api_group', '=', k.group), eb('kind', '=', k.kind)]))));
    }
    q = q.orderBy('account').orderBy('kind').orderBy('namespace').orderBy('name');
    if (query.limit !== undefined) q = q.limit(query.limit);
    const rows = await this.ctx.guard('listObjects', () => q.execute());
    return rows.map(objectFromRow);
  }

  /**
   * The kinds and groups some feed watches (of `group` when given), undefined when there are none. A query
   * by application names them, so that the index ordered by kind and then application
   * (objects_kind_application) serves it: there is no index by application alone.
   */
  private async watchedKinds(group?: string): Promise<{ kinds: string[]; groups: string[] } | undefined> {
    let q = this.ctx.db.selectFrom('feeds').select(['api_group', 'kind']).distinct();
    if (group !== undefined) q = q.where('api_group', '=', group);
    const rows = await this.ctx.guard('watchedKinds', () => q.execute());
    if (rows.length === 0) return undefined;
    return { kinds: distinct(rows.map((r) => r.kind)), groups: distinct(rows.map((r) => r.api_group)) };
  }

  async countObjects(account?: string): Promise<number> {
    let q = this.ctx.db.selectFrom('objects').select((eb) => eb.fn.countAll().as('count'));
    if (account !== undefined) q = q.where('account', '=', account);
    const row = await this.ctx.guard('countObjects', () => q.executeTakeFirstOrThrow());
    return toNumber(row.count);
  }

  // application views

  /** The application's objects of `kinds` (index objects_kind_application: one range per kind and group). */
  private applicationQuery(application: string, kinds: readonly StoreGroupKind[], scope: ApplicationScope) {
    let q = this.ctx.db
      .selectFrom('objects')
      .where('kind', 'in', distinct(kinds.map((k) => k.kind)))
      .where('api_group', 'in', distinct(kinds.map((k) => k.group)))
      .where('application', '=', clampText(application, KEY_LENGTHS.application));
    if (scope.account !== undefined) q = q.where('account', '=', scope.account);
    if (scope.cluster !== undefined) q = q.where('cluster', '=', clampText(scope.cluster, KEY_LENGTHS.cluster));
    return q;
  }

  async listApplicationObjects(application: string, kinds: readonly StoreGroupKind[], scope: ApplicationScope = {}): Promise<CachedObject[]> {
    if (kinds.length === 0) return [];
    const rows = await this.ctx.guard('listApplicationObjects', () => this.applicationQuery(application, kinds, scope).selectAll().execute());
    const wanted = kindSet(kinds);
    return rows.filter((r) => wanted.has(kindKey(r.api_group, r.kind))).map(objectFromRow);
  }

  async listApplicationObjectVersions(application: string, kinds: readonly StoreGroupKind[], scope: ApplicationScope = {}): Promise<ObjectVersion[]> {
    if (kinds.length === 0) return [];
    const rows = await this.ctx.guard('listApplicationObjectVersions', () =>
      this.applicationQuery(application, kinds, scope).select(VERSION_COLUMNS).execute(),
    );
    const wanted = kindSet(kinds);
    return rows.filter((r) => wanted.has(kindKey(r.api_group, r.kind))).map(versionFromRow);
  }

  async listApplicationClusters(kinds: readonly StoreGroupKind[], application?: string): Promise<ApplicationClusterRow[]> {
    if (kinds.length === 0) return [];
    // `kind IN … AND api_group IN …` is exact for Kubernetes' own groups (no custom resource lives in them).
    const kindNames = distinct(kinds.map((k) => k.kind));
    const groups = distinct(kinds.map((k) => k.group));
    const app = application === undefined ? undefined : clampText(application, KEY_LENGTHS.application);
    let rows: Array<{ application: string | null; account: string; cluster: string | null }>;
    if (this.ctx.dialect.name === 'mysql') {
      // All applications' clusters match a large share of the table: MySQL/MariaDB would rather scan it
      // (bodies and all) than look rows up from the index, and DISTINCT adds a temporary table. The
      // index named, rows de-duplicated below.
      const appCondition = app === undefined ? sql`application is not null` : sql`application = ${app}`;
      const result = await this.ctx.guard('listApplicationClusters', () =>
        sql<{
          application: string | null;
          account: string;
          cluster: string | null;
        }>`select application, account, cluster from objects force index (objects_kind_application) where kind in (${sql.join(kindNames)}) and api_group in (${sql.join(groups)}) and ${appCondition}`.execute(
          this.ctx.db,
        ),
      );
      rows = result.rows;
    } else {
      // SQLite reads objects_kind_application alone (it carries the cluster column).
      let q = this.ctx.db
        .selectFrom('objects')
        .select(['application', 'account', 'cluster'])
        .distinct()
        .where('kind', 'in', kindNames)
        .where('api_group', 'in', groups);
      q = app !== undefined ? q.where('application', '=', app) : q.where('application', 'is not', null);
      rows = await this.ctx.guard('listApplicationClusters', () => q.execute());
    }
    const seen = new Set<string>();
    const out: ApplicationClusterRow[] = [];
    for (const r of rows) {
      if (r.application === null) continue;
      const key = `${r.application}\u0000${r.account}\u0000${r.cluster ?? ''}\u0000${r.cluster === null ? 'n' : 'c'}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ application: r.application, account: r.account, cluster: r.cluster });
    }
    return out;
  }

  /**
   * One statement per kind and chunk, each a range of the primary key (account, api_group, kind,
   * namespace[, name]); `select` picks the columns.
   */
  private async namespaced<R>(what: string, query: NamespacedObjectQuery, run: (q: NamespacedSelect) => Promise<R[]>): Promise<R[]> {
    const namespaces = distinct(query.namespaces);
    if (namespaces.length === 0 || query.kinds.length === 0) return [];
    const names = query.names === undefined ? undefined : distinct(query.names);
    if (names !== undefined && names.length === 0) return [];
    const out: R[] = [];
    for (const kind of query.kinds) {
      for (const nsChunk of chunked(namespaces, VIEW_KEYS_PER_STATEMENT)) {
        for (const nameChunk of names === undefined ? [undefined] : chunked(names, VIEW_KEYS_PER_STATEMENT)) {
          let q = this.ctx.db
            .selectFrom('objects')
            .where('account', '=', query.account)
            .where('api_group', '=', kind.group)
            .where('kind', '=', kind.kind)
            .where('namespace', 'in', nsChunk);
          if (nameChunk !== undefined) q = q.where('name', 'in', nameChunk);
          out.push(...(await this.ctx.guard(what, () => run(q))));
        }
      }
    }
    return out;
  }

  async listNamespacedObjects(query: NamespacedObjectQuery): Promise<CachedObject[]> {
    const rows = await this.namespaced('listNamespacedObjects', query, (q) => q.selectAll().execute());
    return rows.map(objectFromRow);
  }

  async listNamespacedObjectVersions(query: NamespacedObjectQuery): Promise<ObjectVersion[]> {
    const rows = await this.namespaced('listNamespacedObjectVersions', query, (q) => q.select(VERSION_COLUMNS).execute());
    return rows.map(versionFromRow);
  }

  async searchObjects(query: ObjectSearch): Promise<CachedObject[]> {
    if (query.kinds !== undefined && query.kinds.length === 0) return [];
    if (!asciiKeys(query.namespace)) return [];
    const columns = [
      'account',
      'api_group',
      'kind',
      'namespace',
      'name',
      'version',
      'uid',
      'resource_version',
      'application',
      'cluster',
      'created_at',
      'updated_at',
    ] as const;
    let q = query.withoutBodies
      ? this.ctx.db.selectFrom('objects').select([...columns, sql<string>`''`.as('body')])
      : this.ctx.db.selectFrom('objects').select([...columns, 'body']);
    if (query.account !== undefined) q = q.where('account', '=', query.account);
    if (query.namespace !== undefined) q = q.where('namespace', '=', query.namespace);
    if (query.application !== undefined) {
      q = q.where('application', '=', clampText(query.application, KEY_LENGTHS.application));
      if (query.kinds === undefined) {
        const watched = await this.watchedKinds();
        if (watched === undefined) return [];
        q = q.where('kind', 'in', watched.kinds).where('api_group', 'in', watched.groups);
      }
    }
    if (query.cluster !== undefined) q = q.where('cluster', '=', clampText(query.cluster, KEY_LENGTHS.cluster));
    if (query.kinds !== undefined) {
      const kinds = query.kinds;
      q = q.where((eb) => eb.or(kinds.map((k) => eb.and([eb('api_group', '=', k.group), eb('kind', '=', k.kind)]))));
    }
    if (query.namePrefix !== undefined && query.namePrefix !== '') {
      // A range on the key column (byte-wise on every engine) rather than LIKE, so the primary key serves it.
      const prefix = query.namePrefix;
      const upper = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
      q = q.where('name', '>=', prefix).where('name', '<', upper);
    }
    if (query.text !== undefined) {
      const { contains, orAccounts = [], orKinds = [] } = query.text;
      // ESCAPE '!' works alike on SQLite, PostgreSQL and MySQL (backslash does not).
      const pattern = `%${contains.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
      const like = (column: 'namespace' | 'name' | 'application' | 'cluster') => sql<boolean>`lower(${sql.ref(column)}) like ${pattern} escape '!'`;
      // Namespaces are ASCII (a MySQL ascii column): text outside ASCII cannot occur in one.
      const ascii = /^[\x00-\x7f]*$/.test(contains);
      q = q.where((eb) =>
        eb.or([
          ...(ascii ? [like('namespace')] : []),
          like('name'),
          like('application'),
          like('cluster'),
          ...(orAccounts.length > 0 ? [eb('account', 'in', orAccounts)] : []),
          ...orKinds.map((k) => eb.and([eb('api_group', '=', k.group), eb('kind', '=', k.kind)])),
        ]),
      );
    }
    q = q.orderBy('account').orderBy('kind').orderBy('namespace').orderBy('name');
    if (query.limit !== undefined) q = q.limit(query.limit);
    const rows = await this.ctx.guard('searchObjects', () => q.execute());
    return rows.map(objectFromRow);
  }

  async feedDigestStates(account: string): Promise<FeedDigestState[]> {
    const rows = await this.ctx.guard('feedDigestStates', () =>
      this.ctx.db
        .selectFrom('feeds')
        .select(['api_group', 'kind', 'namespace', 'digest_checked_at', 'diverged_since', 'divergences', 'digest_due_since'])
        .where('account', '=', account)
        .orderBy('api_group')
        .orderBy('kind')
        .orderBy('namespace')
        .execute(),
    );
    return rows.map((r) => ({
      group: r.api_group,
      kind: r.kind,
      namespace: r.namespace,
      checkedAt: toNullableNumber(r.digest_checked_at),
      divergedSince: toNullableNumber(r.diverged_since),
      divergences: toNumber(r.divergences ?? 0),
      dueSince: toNullableNumber(r.digest_due_since),
    }));
  }

  async listFeedStates(): Promise<AccountFeedState[]> {
    const rows = await this.ctx.guard('listFeedStates', () =>
      this.ctx.db
        .selectFrom('feeds')
        .select(['account', 'api_group', 'kind', 'namespace', 'updated_at', 'digest_checked_at', 'diverged_since', 'divergences', 'digest_due_since'])
        .orderBy('account')
        .orderBy('api_group')
        .orderBy('kind')
        .orderBy('namespace')
        .execute(),
    );
    return rows.map((r) => ({
      account: r.account,
      group: r.api_group,
      kind: r.kind,
      namespace: r.namespace,
      updatedAt: toNumber(r.updated_at),
      checkedAt: toNullableNumber(r.digest_checked_at),
      divergedSince: toNullableNumber(r.diverged_since),
      divergences: toNumber(r.divergences ?? 0),
      dueSince: toNullableNumber(r.digest_due_since),
    }));
  }
}
