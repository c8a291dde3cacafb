import { errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { AccountDefinitionRecord, AccountDefinitionStore } from '../store/types.ts';
import { finishDeletion, type DeletionStore } from './definition-deletion.ts';
import { SerialPass } from '../../common/serial-pass.ts';

export type DefinitionWatchStore = Pick<AccountDefinitionStore, 'definitionsVersion' | 'listDefinitions'> & DeletionStore;

export interface DefinitionWatchOptions {
  store: DefinitionWatchStore;
  /** How often the definitions' version is read (hub accounts.definitionPollIntervalMs). */
  intervalMs: number;
  logger: Logger;
  /** Every definition, after the first read and after each change (at any replica). */
  onChange: (definitions: readonly AccountDefinitionRecord[]) => void;
}

/**
 * Follows the dynamic account definitions of the shared database, so that a definition written at any
 * replica reaches the agents of every replica within one interval: each tick reads the definitions'
 * version (one aggregate row) and, when it moved, every definition. A write at this replica pokes it at
 * once. Each tick also finishes the deletions whose agents have stopped their accounts. Ticks never
 * overlap; a failed one is logged and the next tries again.
 */
export class DefinitionWatch {
  private version: string | undefined;
  private definitions: readonly AccountDefinitionRecord[] | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly ticks = new SerialPass(
    () => this.tick(),
    () => this.stopped,
  );

  constructor(private readonly options: DefinitionWatchOptions) {}

  /** The definitions as last read; undefined before the first read. */
  get current(): readonly AccountDefinitionRecord[] | undefined {
    return this.definitions;
  }

  /** Reads the definitions once (a failure is logged: the ticks retry), then ticks every interval. */
  async start(): Promise<void> {
    await this.poke();
    this.timer = setInterval(() => void this.poke(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Checks now (after the tick under way, if any); resolves when that check is done. */
  poke(): Promise<void> {
    return this.ticks.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.ticks.current;
  }

  private async tick(): Promise<void> {
    const { store, logger } = this.options;
    try {
      const version = await store.definitionsVersion();
      if (version !== this.version || this.definitions === undefined) {
        const definitions = await store.listDefinitions();
        this.version = version;
        this.definitions = definitions;
        this.options.onChange(definitions);
      }
      const finished: string[] = [];
      for (const definition of this.definitions) {
        if (definition.desiredState === 'deleting' && (await finishDeletion(store, definition.name))) finished.push(definition.name);
      }
      if (finished.length > 0) {
        logger.info({ accounts: finished }, 'deleted dynamic accounts whose agents stopped serving them');
        // Read the definitions again at once (after this tick): these are gone.
        void this.ticks.run();
      }
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'cannot read the dynamic account definitions; trying again at the next interval');
    }
  }
}
