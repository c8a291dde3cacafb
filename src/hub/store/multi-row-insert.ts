import { CompiledQuery, type Compilable, type Kysely, type QueryResult, type Transaction } from 'kysely';
import { Errors, ScaleAgentError } from '../../common/errors.ts';
import { withoutNul } from './rows.ts';

/**
 * A multi-row INSERT (or upsert) compiled once per row count and reused with new parameters. On the
 * ingest path Kysely's per-value query building costs as much as SQLite's write, so the statement is
 * built by Kysely once — with marker values, from which the parameter order is read back — and later
 * batches only supply values. The SQL stays whatever the dialect's builder produced.
 */
export class MultiRowInsert<DB, Row extends object> {
  private readonly compiled = new Map<number, { sql: string; order: number[] | null }>();

  constructor(
    private readonly columns: ReadonlyArray<keyof Row & string>,
    /** Builds the statement for `rows` (always the marker rows); must bind only row values. */
    private readonly build: (db: Kysely<DB>, rows: Row[]) => Compilable,
  ) {}

  /**
   * Writes `rows` with statements of power-of-two row counts (437 rows: 256 + 128 + 32 + 16 + 4 + 1), so
   * that a handful of statement shapes serve every batch: compiled and prepared once each, instead of one
   * shape per row count — each a prepared statement of up to half a megabyte, prepared anew whenever
   * the cache had let it go. Returns the rows affected, as the engine counts them.
   */
  async execute(trx: Transaction<DB>, rows: readonly Row[]): Promise<number> {
    let offset = 0;
    let affected = 0;
    for (const size of binaryParts(rows.length)) {
      affected += await this.executeExactly(trx, offset === 0 && size === rows.length ? rows : rows.slice(offset, offset + size));
      offset += size;
    }
    return affected;
  }

  /** Returns the rows the engine reports as affected (SQLite: inserted or updated; MySQL counts an update twice). */
  private async executeExactly(trx: Transaction<DB>, rows: readonly Row[]): Promise<number> {
    if (rows.length === 0) return 0;
    const statement = this.statementFor(trx, rows.length);
    const width = this.columns.length;
    const flat = new Array<unknown>(rows.length * width);
    let i = 0;
    for (const row of rows) for (const column of this.columns) flat[i++] = noNul((row as Record<string, unknown>)[column]);
    const parameters = statement.order === null ? flat : statement.order.map((index) => flat[index]);
    const result = await trx.executeQuery(CompiledQuery.raw(statement.sql, parameters));
    return Number(result.numAffectedRows ?? 0);
  }

  private statementFor(db: Kysely<DB>, count: number): { sql: string; order: number[] | null } {
    const cached = this.compiled.get(count);
    if (cached) return cached;
    const width = this.columns.length;
    const markers = Array.from({ length: count }, (_, r) => Object.fromEntries(this.columns.map((c, ci) => [c, marker(r * width + ci)])) as Row);
    const query = this.build(db, markers).compile();
    const order = query.parameters.map((p) => {
      const index = typeof p === 'string' ? parseMarker(p) : undefined;
      if (index === undefined) throw new ScaleAgentError(Errors.STORE_ERROR, 'multi-row insert binds a value that is not a row value', { sql: query.sql });
      return index;
    });
    if (order.length !== count * width)
      throw new ScaleAgentError(Errors.STORE_ERROR, 'multi-row insert binds an unexpected number of values', { sql: query.sql });
    const identity = order.every((value, index) => value === index);
    const statement = { sql: query.sql, order: identity ? null : order };
    this.compiled.set(count, statement);
    return statement;
  }
}

/**
 * Any other statement of the ingest path (the per-batch lookups and updates), compiled once per shape
 * the same way: `build` gets one marker value per parameter and must bind only those; `execute` runs the
 * SQL Kysely produced with the real values. `shape` tells apart statements whose SQL differs with the
 * number of values (e.g. one OR branch per feed).
 */
export class ReusableQuery<DB> {
  private readonly compiled = new Map<number, { sql: string; order: number[] }>();

  constructor(private readonly build: (db: Kysely<DB>, markers: string[], shape: number) => Compilable) {}

  async execute<R>(trx: Transaction<DB>, shape: number, values: readonly unknown[]): Promise<QueryResult<R>> {
    let statement = this.compiled.get(shape);
    if (statement === undefined) {
      const query = this.build(
        trx,
        values.map((_, i) => marker(i)),
        shape,
      ).compile();
      const order = query.parameters.map((p) => {
        const index = typeof p === 'string' ? parseMarker(p) : undefined;
        if (index === undefined || index >= values.length)
          throw new ScaleAgentError(Errors.STORE_ERROR, 'a reusable query binds a value that is not one of its parameters', { sql: query.sql });
        return index;
      });
      statement = { sql: query.sql, order };
      this.compiled.set(shape, statement);
    }
    return trx.executeQuery<R>(
      CompiledQuery.raw(
        statement.sql,
        statement.order.map((index) => noNul(values[index])),
      ),
    );
  }
}

/** `count` as a sum of distinct powers of two, largest first: the statement sizes that carry `count` rows. */
export function binaryParts(count: number): number[] {
  const parts: number[] = [];
  for (let bit = 1 << 30; bit >= 1; bit >>>= 1) if (count & bit) parts.push(bit);
  return parts;
}

/** Starts every placeholder value; exported so that parameter rewriting (NoNulPlugin) leaves them alone. */
export const MARKER_PREFIX = '\u0000param:';

/**
 * These statements bypass Kysely's plugins (they run compiled SQL with raw parameters), so NUL
 * characters are replaced here, as NoNulPlugin does for every other statement: PostgreSQL refuses them.
 */
function noNul(value: unknown): unknown {
  return typeof value === 'string' && value.includes('\u0000') ? withoutNul(value) : value;
}

function marker(index: number): string {
  return MARKER_PREFIX + index;
}

function parseMarker(value: string): number | undefined {
  return value.startsWith(MARKER_PREFIX) ? Number(value.slice(MARKER_PREFIX.length)) : undefined;
}
