import type { Kysely } from 'kysely';
import { setTimeout as sleep } from 'node:timers/promises';
import { Errors, ScaleAgentError, errorMessage, isScaleAgentError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { SqlDialect } from './dialect.ts';
import type { Database } from './schema.ts';

/** Attempts of one store call that keeps meeting deadlocks or serialization failures. */
const TRANSIENT_ATTEMPTS = 4;
/** A retry waits up to this long per attempt so far, at random, so that the conflicting calls drift apart. */
const TRANSIENT_BACKOFF_MS = 20;

export interface GuardOptions {
  /**
   * The call is a transaction. Its statements that never reached the server are not sent again: when a
   * COMMIT's connection breaks, the driver refuses the ROLLBACK that follows as "not queryable", and that
   * error hides whether the COMMIT took effect.
   */
  transaction?: boolean;
}

/**
 * What the SQL roles (sql-account-store.ts, sql-ingest-store.ts, sql-cache-reader.ts, sql-task-store.ts,
 * sql-replica-store.ts, sql-assignment-store.ts) share: one Kysely instance (one pool, or SQLite's one
 * connection), the engine's dialect, the logger, and guard() around every call.
 */
export class SqlContext {
  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: SqlDialect,
    readonly logger: Logger,
  ) {}

  /**
   * Wraps driver errors as STORE_ERROR so callers see one stable code; our own errors pass through.
   * A deadlock or serialization failure rolled the whole call back, so it is run again (every call is
   * one statement or one transaction, and batches are idempotent).
   */
  async guard<T>(what: string, run: () => Promise<T>, options: GuardOptions = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (err) {
        if (isScaleAgentError(err)) throw err;
        // A call is one statement or one transaction, so a statement that never reached the server (its
        // pooled connection had broken) left nothing behind: it is sent again on another connection.
        if (attempt < TRANSIENT_ATTEMPTS && (this.dialect.isTransient(err) || (!options.transaction && this.dialect.isUnsent(err)))) {
          this.logger.debug({ operation: what, attempt, err: errorMessage(err) }, 'store call met a transient conflict; retrying');
          await sleep(Math.floor(Math.random() * TRANSIENT_BACKOFF_MS * attempt));
          continue;
        }
        throw new ScaleAgentError(Errors.STORE_ERROR, `store ${what} failed: ${errorMessage(err)}`, { operation: what }, { cause: err });
      }
    }
  }
}
