import { Errors, ScaleAgentError } from '../../common/errors.ts';
import type { AccountDefinitionRecord, AccountDefinitionStore, AccountDefinitionWrite, AccountRecord, AccountStore } from '../store/types.ts';
import { accountStatus, type AccountStatusView } from './account-status.ts';
import { importCandidates } from './clouddriver-accounts.ts';
import { finishDeletion } from './definition-deletion.ts';
import { parseDefinition, type DefinitionFallback } from './definition-input.ts';
import { planImport, type ImportAction, type ImportOptions, type ImportPlanEntry } from './import-plan.ts';

/** An account as the hub's operators see it: its dynamic definition, its registration, or both. */
export interface AccountEntry {
  name: string;
  definition?: AccountDefinitionRecord;
  account?: AccountRecord;
  status: AccountStatusView;
}

/** What a create or an update did. */
export interface DefinitionOutcome {
  entry: AccountEntry;
  /** False when the submission equalled the definition (nothing was written). */
  changed: boolean;
  /** Clouddriver-only keys left out, with why. */
  ignored: Record<string, string>;
}

/** An import's report: one entry per account found, in order, and the count of each action. */
export interface ImportReport {
  dryRun: boolean;
  summary: Record<ImportAction, number>;
  accounts: Array<Omit<ImportPlanEntry, 'write' | 'expectRevision'>>;
}

export type DefinitionServiceStore = AccountDefinitionStore & Pick<AccountStore, 'getAccount' | 'listAccounts' | 'deleteAccount'>;

export interface DefinitionServiceOptions {
  store: DefinitionServiceStore;
  /** Called after every write, so that this replica's agents get the change at once (definition-watch.ts). */
  onChange?: () => void;
  now?: () => number;
}

const NEW_DEFINITION: DefinitionFallback = { zoneId: null, desiredState: 'active' };

function entryOf(name: string, definition: AccountDefinitionRecord | undefined, account: AccountRecord | undefined): AccountEntry {
  return { name, ...(definition ? { definition } : {}), ...(account ? { account } : {}), status: accountStatus(definition, account) };
}

function sameWrite(a: AccountDefinitionRecord, b: AccountDefinitionWrite): boolean {
  return a.definition === b.definition && a.zoneId === b.zoneId && a.desiredState === b.desiredState;
}

function notDynamic(account: AccountRecord): ScaleAgentError {
  return new ScaleAgentError(
    Errors.ACCOUNT_NOT_DYNAMIC,
    `account ${account.name} is served by agent ${account.agentId ?? '(unknown)'} from its own configuration, not by a dynamic definition; change or remove it in that agent's configuration`,
    { account: account.name, agentId: account.agentId },
  );
}

function beingDeleted(name: string): ScaleAgentError {
  return new ScaleAgentError(Errors.ACCOUNT_DEFINITION_CONFLICT, `account ${name} is being deleted (its agents are stopping it); try again once it is gone`, {
    account: name,
  });
}

/**
 * Dynamic account definitions as the REST API manages them (src/hub/api/routes/account-definition-routes.ts
 * and Clouddriver's Account Management in credentials-routes.ts): create, update, delete, import, and
 * the accounts with their status. Writes go to the store; every replica's definition watch pushes them.
 */
export class DefinitionService {
  private readonly now: () => number;

  constructor(private readonly options: DefinitionServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  private changed(): void {
    this.options.onChange?.();
  }

  /** Every account with a definition or a registration, by name. */
  async list(): Promise<AccountEntry[]> {
    const { store } = this.options;
    const [definitions, accounts] = await Promise.all([store.listDefinitions(), store.listAccounts()]);
    const byName = new Map(definitions.map((d) => [d.name, d]));
    const rows = new Map(accounts.map((a) => [a.name, a]));
    return [...new Set([...byName.keys(), ...rows.keys()])].sort().map((name) => entryOf(name, byName.get(name), rows.get(name)));
  }

  async get(name: string): Promise<AccountEntry | undefined> {
    const { store } = this.options;
    const [definition, account] = await Promise.all([store.getDefinition(name), store.getAccount(name)]);
    return definition === undefined && account === undefined ? undefined : entryOf(name, definition, account);
  }

  /** The definitions by name (to show with the accounts a caller may read). */
  async definitionsByName(): Promise<Map<string, AccountDefinitionRecord>> {
    return new Map((await this.options.store.listDefinitions()).map((d) => [d.name, d]));
  }

  async definition(name: string): Promise<AccountDefinitionRecord | undefined> {
    return this.options.store.getDefinition(name);
  }

  /** Creates a definition: ACCOUNT_DEFINITION_EXISTS when the name has one, ACCOUNT_NOT_DYNAMIC when an agent's configuration serves it. */
  async create(body: unknown, by: string, name?: string): Promise<DefinitionOutcome> {
    const { store } = this.options;
    const { write, ignored } = parseDefinition(body, { ...(name !== undefined ? { name } : {}), fallback: NEW_DEFINITION });
    const [existing, account] = await Promise.all([store.getDefinition(write.name), store.getAccount(write.name)]);
    if (existing !== undefined) throw this.exists(existing);
    if (account?.status === 'connected') throw notDynamic(account);
    if (!(await store.createDefinition(write, by, this.now()))) {
      const raced = await store.getDefinition(write.name);
      throw raced
        ? this.exists(raced)
        : new ScaleAgentError(Errors.ACCOUNT_DEFINITION_CONFLICT, `account ${write.name} changed during its creation; try again`);
    }
    this.changed();
    return { entry: await this.required(write.name), changed: true, ignored };
  }

  /**
   * Replaces a definition (`zoneId` and `state` left out keep their values): ACCOUNT_DEFINITION_NOT_FOUND
   * without one (ACCOUNT_NOT_DYNAMIC when an agent's configuration serves the name), ACCOUNT_DEFINITION_CONFLICT
   * while it is being deleted or when it changed meanwhile.
   */
  async update(name: string, body: unknown, by: string): Promise<DefinitionOutcome> {
    const { store } = this.options;
    const existing = await store.getDefinition(name);
    if (existing === undefined) throw await this.missing(name);
    if (existing.desiredState === 'deleting') throw beingDeleted(name);
    const { write, ignored } = parseDefinition(body, {
      name,
      fallback: { zoneId: existing.zoneId, desiredState: existing.desiredState === 'inactive' ? 'inactive' : 'active' },
    });
    if (sameWrite(existing, write)) return { entry: await this.required(name), changed: false, ignored };
    if (!(await store.updateDefinition(write, by, this.now(), existing.revision))) {
      throw new ScaleAgentError(Errors.ACCOUNT_DEFINITION_CONFLICT, `account ${name} was changed or deleted by someone else meanwhile; read it again`, {
        account: name,
      });
    }
    this.changed();
    return { entry: await this.required(name), changed: true, ignored };
  }

  /** Creates or updates (Clouddriver's PUT /credentials). */
  async save(body: unknown, by: string): Promise<DefinitionOutcome> {
    const { write } = parseDefinition(body, { fallback: NEW_DEFINITION });
    return (await this.options.store.getDefinition(write.name)) === undefined ? this.create(body, by) : this.update(write.name, body, by);
  }

  /**
   * Withdraws a definition from its agents: marked `deleting` (pushed to no agent), then removed with
   * the account's row and cache as soon as no agent serves it — here if none does now, otherwise by
   * the definition watch once the agents have stopped it. Returns the entry while it is being deleted,
   * undefined once it is gone.
   */
  async delete(name: string, by: string): Promise<AccountEntry | undefined> {
    const { store } = this.options;
    const existing = await store.getDefinition(name);
    if (existing === undefined) throw await this.missing(name);
    if (existing.desiredState !== 'deleting') {
      await store.updateDefinition({ ...existing, desiredState: 'deleting' }, by, this.now());
      this.changed();
    }
    if (await finishDeletion(store, name)) {
      this.changed();
      return undefined;
    }
    return this.get(name);
  }

  /**
   * Imports Clouddriver's Kubernetes accounts (clouddriver-accounts.ts) as definitions: the plan of
   * every account (import-plan.ts), applied unless `dryRun`. An update applies only while the definition
   * is as planned; one changed meanwhile, or a name created meanwhile, is reported refused.
   */
  async import(documents: readonly unknown[], options: ImportOptions & { dryRun: boolean }, by: string): Promise<ImportReport> {
    const { store } = this.options;
    const candidates = importCandidates(documents);
    const [definitions, accounts] = await Promise.all([store.listDefinitions(), store.listAccounts()]);
    const plan = planImport(
      candidates,
      { definitions: new Map(definitions.map((d) => [d.name, d])), accounts: new Map(accounts.map((a) => [a.name, a])) },
      options,
    );
    const applied = options.dryRun ? plan : await this.apply(plan, by);
    const summary: Record<ImportAction, number> = { create: 0, update: 0, unchanged: 0, refused: 0 };
    for (const entry of applied) summary[entry.action]++;
    return { dryRun: options.dryRun, summary, accounts: applied.map(({ write: _write, expectRevision: _revision, ...entry }) => entry) };
  }

  private async apply(plan: readonly ImportPlanEntry[], by: string): Promise<ImportPlanEntry[]> {
    const { store } = this.options;
    const out: ImportPlanEntry[] = [];
    for (const entry of plan) {
      const now = this.now();
      if (entry.action === 'create' && entry.write && !(await store.createDefinition(entry.write, by, now))) {
        out.push({
          ...entry,
          action: 'refused',
          code: Errors.ACCOUNT_DEFINITION_EXISTS.code,
          reason: `account ${entry.name} was created by someone else meanwhile`,
        });
      } else if (entry.action === 'update' && entry.write && !(await store.updateDefinition(entry.write, by, now, entry.expectRevision))) {
        out.push({
          ...entry,
          action: 'refused',
          code: Errors.ACCOUNT_DEFINITION_CONFLICT.code,
          reason: `account ${entry.name} was changed by someone else meanwhile`,
        });
      } else {
        out.push(entry);
      }
    }
    if (out.some((e) => e.action === 'create' || e.action === 'update')) this.changed();
    return out;
  }

  private async required(name: string): Promise<AccountEntry> {
    const entry = await this.get(name);
    if (entry === undefined) throw new ScaleAgentError(Errors.ACCOUNT_DEFINITION_NOT_FOUND, `account ${name} was deleted meanwhile`, { account: name });
    return entry;
  }

  private exists(existing: AccountDefinitionRecord): ScaleAgentError {
    if (existing.desiredState === 'deleting') return beingDeleted(existing.name);
    return new ScaleAgentError(Errors.ACCOUNT_DEFINITION_EXISTS, `account ${existing.name} already has a definition; update it instead`, {
      account: existing.name,
    });
  }

  private async missing(name: string): Promise<ScaleAgentError> {
    const account = await this.options.store.getAccount(name);
    if (account !== undefined) return notDynamic(account);
    return new ScaleAgentError(Errors.ACCOUNT_DEFINITION_NOT_FOUND, `account ${name} has no dynamic definition`, { account: name });
  }
}
