import { createHash } from 'node:crypto';
import { sql, type Selectable } from 'kysely';
import { clampText, toNumber } from './rows.ts';
import { KEY_LENGTHS, type AccountDefinitionsTable } from './schema.ts';
import type { SqlContext } from './sql-context.ts';
import type { AccountDefinitionRecord, AccountDefinitionStore, AccountDefinitionWrite, DefinitionDesiredState } from './types.ts';

const DESIRED_STATES: ReadonlySet<string> = new Set<DefinitionDesiredState>(['active', 'inactive', 'deleting']);

function definitionFromRow(row: Selectable<AccountDefinitionsTable>): AccountDefinitionRecord {
  return {
    name: row.name,
    definition: row.definition,
    zoneId: row.zone_id,
    // A state this version does not know (written by a newer hub) is read as inactive: never served by mistake.
    desiredState: DESIRED_STATES.has(row.desired_state) ? (row.desired_state as DefinitionDesiredState) : 'inactive',
    revision: toNumber(row.revision),
    createdAt: toNumber(row.created_at),
    createdBy: row.created_by,
    updatedAt: toNumber(row.updated_at),
    updatedBy: row.updated_by,
  };
}

/** Who wrote a definition, cut to its column (a user name is chosen by the identity provider). */
function author(by: string): string {
  return clampText(by, KEY_LENGTHS.createdBy);
}

/** The account_definitions table: dynamic account definitions, written by the REST API, read whole by every replica. */
export class SqlDefinitionStore implements AccountDefinitionStore {
  constructor(private readonly ctx: SqlContext) {}

  async createDefinition(definition: AccountDefinitionWrite, by: string, now: number): Promise<boolean> {
    const { db, dialect } = this.ctx;
    const row = {
      name: definition.name,
      definition: definition.definition,
      zone_id: definition.zoneId,
      desired_state: definition.desiredState,
      revision: 1,
      created_at: now,
      created_by: author(by),
      updated_at: now,
      updated_by: author(by),
    };
    return this.ctx.guard(
      'createDefinition',
      () =>
        db.transaction().execute(async (trx) => {
          await dialect.insertIfAbsent(trx.insertInto('account_definitions').values(row), ['name']).execute();
          // The inserted-rows count cannot tell (mysql2 asks for CLIENT_FOUND_ROWS, so a key that exists
          // counts as a row): the row read back is ours when it is exactly what was inserted. Two identical
          // creates at the same millisecond both succeed, which changes nothing.
          const stored = await trx.selectFrom('account_definitions').selectAll().where('name', '=', definition.name).executeTakeFirst();
          return (
            stored !== undefined &&
            toNumber(stored.revision) === 1 &&
            toNumber(stored.created_at) === now &&
            stored.created_by === row.created_by &&
            stored.definition === row.definition &&
            stored.zone_id === row.zone_id &&
            stored.desired_state === row.desired_state
          );
        }),
      { transaction: true },
    );
  }

  async updateDefinition(definition: AccountDefinitionWrite, by: string, now: number, expectRevision?: number): Promise<boolean> {
    const result = await this.ctx.guard('updateDefinition', () =>
      this.ctx.db
        .updateTable('account_definitions')
        .set({
          definition: definition.definition,
          zone_id: definition.zoneId,
          desired_state: definition.desiredState,
          revision: sql<number>`revision + 1`,
          updated_at: now,
          updated_by: author(by),
        })
        .where('name', '=', definition.name)
        .$if(expectRevision !== undefined, (q) => q.where('revision', '=', expectRevision!))
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) > 0;
  }

  async getDefinition(name: string): Promise<AccountDefinitionRecord | undefined> {
    const row = await this.ctx.guard('getDefinition', () =>
      this.ctx.db.selectFrom('account_definitions').selectAll().where('name', '=', name).executeTakeFirst(),
    );
    return row ? definitionFromRow(row) : undefined;
  }

  async listDefinitions(): Promise<AccountDefinitionRecord[]> {
    const rows = await this.ctx.guard('listDefinitions', () => this.ctx.db.selectFrom('account_definitions').selectAll().orderBy('name').execute());
    return rows.map(definitionFromRow);
  }

  async deleteDefinition(name: string, onlyIf?: DefinitionDesiredState): Promise<boolean> {
    const result = await this.ctx.guard('deleteDefinition', () =>
      this.ctx.db
        .deleteFrom('account_definitions')
        .where('name', '=', name)
        .$if(onlyIf !== undefined, (q) => q.where('desired_state', '=', onlyIf!))
        .executeTakeFirst(),
    );
    return Number(result.numDeletedRows) > 0;
  }

  /**
   * A digest of every definition's (name, creation time, revision): any create, change or removal moves
   * it, whatever the replicas' clocks say (an aggregate of counts and times could stay the same when one
   * definition is removed and another created). A few bytes a definition, read by each replica once a
   * poll interval.
   */
  async definitionsVersion(): Promise<string> {
    const rows = await this.ctx.guard('definitionsVersion', () =>
      this.ctx.db.selectFrom('account_definitions').select(['name', 'created_at', 'revision']).orderBy('name').execute(),
    );
    const hash = createHash('sha256');
    for (const row of rows) hash.update(`${row.name}\0${toNumber(row.created_at)}\0${toNumber(row.revision)}\n`);
    return `${rows.length}:${hash.digest('hex')}`;
  }
}
