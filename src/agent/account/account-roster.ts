import { createHash } from 'node:crypto';
import { Backoff, type BackoffOptions } from '../../common/backoff.ts';
import { errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { AccountAcceptance, AccountInfo } from '../../protocol/index.ts';
import type { AccountConfig } from '../config.ts';
import type { AccountRuntime } from './account-runtime.ts';

/** Where an account's definition comes from: the agent's configuration file, or the hub (a dynamic account). */
export type AccountSource = 'file' | 'hub';

/** What the hub made of the account the last time this agent declared it. */
export type HubStanding =
  { state: 'undeclared' } | { state: 'accepted'; caching: boolean } | { state: 'refused'; code: string; message: string; since: number; retryAt: number };

/** Retry of an account whose cluster cannot be reached (or whose credentials cannot be read). */
export const ACCOUNT_INIT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 60_000, multiplier: 2, jitter: 0.2, resetAfterMs: 300_000 };
/**
 * Declaring again an account the hub refused (its name belongs to another cluster until an operator
 * releases it, the agent's identity may not register it, …): the cause is an operator's to fix, so the
 * retries start slow and settle at five minutes.
 */
export const ACCOUNT_REFUSAL_BACKOFF: BackoffOptions = { initialMs: 5_000, maxMs: 300_000, multiplier: 2, jitter: 0.2, resetAfterMs: Number.POSITIVE_INFINITY };

/** What the roster needs of an account's runtime. */
export type RosterRuntime = Pick<AccountRuntime, 'name' | 'state' | 'lastError' | 'facts' | 'resources' | 'init' | 'close' | 'declaration'>;

export interface AccountRosterOptions<R extends RosterRuntime> {
  logger: Logger;
  /** `source` goes into the account's declaration, so the hub knows which accounts its definitions started. */
  createRuntime: (config: AccountConfig, source: AccountSource) => R;
  /** Tells the hub (when a session is up) of accounts declared — ready or unreachable — and of accounts removed. */
  declare: (upserted: AccountInfo[], removed: string[]) => void;
  /** An account is about to stop (removed from the configuration, or restarted with a new one): end what runs for it. */
  onStopping: (account: string) => void;
  /** Accounts whose cluster is reached at once at start (kubernetes.accountInitConcurrency). */
  initConcurrency: number;
  initBackoff?: BackoffOptions;
  refusalBackoff?: BackoffOptions;
  clock?: () => number;
}

interface Entry<R extends RosterRuntime> {
  readonly runtime: R;
  readonly source: AccountSource;
  readonly revision: string;
  standing: HubStanding;
  readonly refusalBackoff: Backoff;
  refusalTimer?: NodeJS.Timeout;
  /** The retry loop of a cluster that could not be reached, while it runs. */
  initLoop?: Promise<void>;
  /** The unreachable reason last declared, so that a retry failing the same way is not declared again. */
  declaredReason?: string;
  stopped: boolean;
}

/** What applying a new set of definitions changed. */
export interface RosterChange {
  added: string[];
  removed: string[];
  restarted: string[];
}

/** Changes exactly when the definition (or where it comes from) does. */
function revisionOf(config: AccountConfig, source: AccountSource): string {
  return createHash('sha256').update(source).update('\0').update(JSON.stringify(config)).digest('hex');
}

/**
 * The accounts this agent runs, kept in step with what it is told to run: the configuration file's
 * accounts (at start and on every reload) and the hub's dynamic ones. A new account starts, a removed one
 * stops and is released at the hub, a changed one restarts alone; the others are not touched. An account
 * whose cluster cannot be reached is declared to the hub as unreachable (so it is kept, with the reason)
 * and retried with backoff; one the hub refuses is declared again with backoff, and reported as refused.
 */
export class AccountRoster<R extends RosterRuntime = AccountRuntime> {
  /** The running accounts by name (what the admin server, the metrics and the operations read). */
  readonly accounts = new Map<string, R>();
  private readonly entries = new Map<string, Entry<R>>();
  private fileAccounts: AccountConfig[] = [];
  private hubAccounts: AccountConfig[] = [];
  /** The hub's definitions this agent cannot run, each as the declaration that says why (account-definitions.ts). */
  private hubInvalid: AccountInfo[] = [];
  /** Those declared to the hub, with the reason declared: withdrawn once the hub no longer sends them. */
  private readonly declaredInvalid = new Map<string, string>();
  /** Clusters being reached now, and the reaches waiting for one of the initConcurrency slots. */
  private reaching = 0;
  private readonly waitingToReach: Array<() => void> = [];
  private closed = false;

  constructor(private readonly options: AccountRosterOptions<R>) {}

  private get clock(): () => number {
    return this.options.clock ?? Date.now;
  }

  /**
   * The first set of file accounts: every cluster is reached once (at most initConcurrency at a time) so
   * that the hello can describe them; those that fail keep retrying in the background.
   */
  async startInitial(configs: AccountConfig[]): Promise<void> {
    this.fileAccounts = configs;
    const started = configs.map((config) => this.add(config, 'file', false));
    let next = 0;
    const worker = async () => {
      // A failure is kept on the runtime (state, lastError) and retried by the entry's loop.
      while (next < started.length) {
        const runtime = started[next++]!.runtime;
        await this.reach(() => runtime.init()).catch(() => undefined);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.initConcurrency, started.length) }, worker));
    for (const entry of started) {
      if (entry.stopped) continue;
      if (entry.runtime.state === 'ready') this.logReady(entry.runtime);
      else {
        this.options.logger.error(
          { account: entry.runtime.name, err: entry.runtime.lastError },
          "cannot reach the account's cluster; retrying in the background",
        );
        entry.declaredReason = entry.runtime.lastError;
        entry.initLoop = this.initLoop(entry, true);
      }
    }
  }

  /** The configuration file's accounts changed (a reload). */
  setFileAccounts(configs: AccountConfig[]): RosterChange {
    this.fileAccounts = configs;
    return this.reconcile();
  }

  /**
   * The hub sent the complete set of this agent's dynamic accounts: those it can run, and (`invalid`)
   * those it cannot, each as the declaration saying why. The latter are declared unreachable, so the
   * hub shows why, and withdrawn when the hub stops sending them (a deleted definition then finishes
   * deleting); a name the configuration file defines is the file's, and none of them is declared for it.
   */
  setHubAccounts(configs: AccountConfig[], invalid: AccountInfo[] = []): RosterChange {
    this.hubAccounts = configs;
    this.hubInvalid = invalid;
    return this.reconcile();
  }

  /** What the hello declares: every account reached or found unreachable (those still being reached follow when they are). */
  declarations(): AccountInfo[] {
    const running = [...this.entries.values()].filter((e) => e.runtime.state !== 'initialising').map((e) => e.runtime.declaration());
    return [...running, ...this.hubInvalid.filter((info) => this.declaredInvalid.has(info.name))];
  }

  standing(account: string): HubStanding | undefined {
    return this.entries.get(account)?.standing;
  }

  source(account: string): AccountSource | undefined {
    return this.entries.get(account)?.source;
  }

  /** The hub answered a declaration: a refused account is declared again later, with backoff. */
  onAcceptance(acceptance: AccountAcceptance): void {
    const entry = this.entries.get(acceptance.account);
    if (entry === undefined) return;
    clearTimeout(entry.refusalTimer);
    entry.refusalTimer = undefined;
    if (acceptance.accepted) {
      entry.refusalBackoff.reset();
      entry.standing = { state: 'accepted', caching: acceptance.caching };
      return;
    }
    const now = this.clock();
    const waitMs = entry.refusalBackoff.next(now);
    const since = entry.standing.state === 'refused' && entry.standing.code === acceptance.refusalCode ? entry.standing.since : now;
    entry.standing = { state: 'refused', code: acceptance.refusalCode, message: acceptance.refusalMessage, since, retryAt: now + waitMs };
    this.options.logger.error(
      { account: acceptance.account, code: acceptance.refusalCode, reason: acceptance.refusalMessage, retryInMs: waitMs },
      'the hub refused the account; declaring it again later',
    );
    entry.refusalTimer = setTimeout(() => {
      entry.refusalTimer = undefined;
      if (entry.stopped || this.closed || entry.standing.state !== 'refused' || entry.runtime.state === 'initialising') return;
      this.options.declare([entry.runtime.declaration()], []);
    }, waitMs);
    entry.refusalTimer.unref();
  }

  /** The session ended: what the hub said no longer holds, and the next hello declares every account again. */
  sessionEnded(): void {
    for (const entry of this.entries.values()) {
      clearTimeout(entry.refusalTimer);
      entry.refusalTimer = undefined;
      if (entry.standing.state !== 'refused') entry.standing = { state: 'undeclared' };
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    // Reaches still waiting for a slot find the roster closed and give up.
    for (const wake of this.waitingToReach.splice(0)) wake();
    const entries = [...this.entries.values()];
    for (const entry of entries) {
      entry.stopped = true;
      clearTimeout(entry.refusalTimer);
    }
    await Promise.all(entries.map((e) => e.runtime.close()));
  }

  /** Brings the running accounts in line with the file's and the hub's; the file wins a name both define. */
  private reconcile(): RosterChange {
    const desired = new Map<string, { config: AccountConfig; source: AccountSource }>();
    for (const config of this.hubAccounts) desired.set(config.name, { config, source: 'hub' });
    for (const config of this.fileAccounts) {
      if (desired.has(config.name)) {
        this.options.logger.warn(
          { account: config.name },
          "the hub defines a dynamic account of the same name as one of the configuration file's; the file's is used",
        );
      }
      desired.set(config.name, { config, source: 'file' });
    }
    const change: RosterChange = { added: [], removed: [], restarted: [] };
    const restarting = new Set<string>();
    for (const [name, entry] of [...this.entries]) {
      const wanted = desired.get(name);
      if (wanted !== undefined && revisionOf(wanted.config, wanted.source) === entry.revision) continue;
      this.remove(entry);
      if (wanted === undefined) change.removed.push(name);
      else restarting.add(name);
    }
    for (const [name, wanted] of desired) {
      if (this.entries.has(name)) continue;
      const restarted = restarting.has(name);
      this.add(wanted.config, wanted.source, true);
      (restarted ? change.restarted : change.added).push(name);
      this.options.logger.info({ account: name, source: wanted.source }, restarted ? 'account definition changed; restarting it' : 'account added');
    }
    for (const name of change.removed) this.options.logger.info({ account: name }, 'account removed; stopped and released at the hub');
    this.declareInvalid(desired);
    return change;
  }

  /** Declares the hub's definitions this agent cannot run that changed, and withdraws those no longer sent. */
  private declareInvalid(desired: ReadonlyMap<string, unknown>): void {
    const current = new Map(this.hubInvalid.filter((info) => !desired.has(info.name)).map((info) => [info.name, info]));
    const removed: string[] = [];
    for (const name of [...this.declaredInvalid.keys()]) {
      if (current.has(name)) continue;
      this.declaredInvalid.delete(name);
      // A name that runs now (its definition became valid, or the file defines it) is declared by its runtime.
      if (!desired.has(name)) removed.push(name);
    }
    const upserted = [...current.values()].filter((info) => this.declaredInvalid.get(info.name) !== info.unreachableReason);
    for (const info of upserted) this.declaredInvalid.set(info.name, info.unreachableReason);
    if (upserted.length > 0 || removed.length > 0) this.options.declare(upserted, removed);
  }

  private add(config: AccountConfig, source: AccountSource, reach: boolean): Entry<R> {
    const runtime = this.options.createRuntime(config, source);
    const entry: Entry<R> = {
      runtime,
      source,
      revision: revisionOf(config, source),
      standing: { state: 'undeclared' },
      refusalBackoff: new Backoff(this.options.refusalBackoff ?? ACCOUNT_REFUSAL_BACKOFF),
      stopped: false,
    };
    this.entries.set(config.name, entry);
    this.accounts.set(config.name, runtime);
    if (reach) entry.initLoop = this.initLoop(entry, false);
    return entry;
  }

  /** Stops an account and tells the hub it is gone (for a restart too: the new runtime declares it afresh). */
  private remove(entry: Entry<R>): void {
    const name = entry.runtime.name;
    entry.stopped = true;
    clearTimeout(entry.refusalTimer);
    this.options.onStopping(name);
    this.entries.delete(name);
    this.accounts.delete(name);
    this.options.declare([], [name]);
    entry.runtime.close().catch((err: unknown) => this.options.logger.warn({ account: name, err: errorMessage(err) }, 'error while stopping an account'));
  }

  /**
   * Reaches the account's cluster, with backoff, until it answers or the account stops. Each new reason
   * it cannot be reached is declared to the hub (the account stays registered, as unreachable); once
   * reached, the account is declared with what discovery found. `afterFailure`: the first attempt was made.
   */
  private async initLoop(entry: Entry<R>, afterFailure: boolean): Promise<void> {
    const backoff = new Backoff(this.options.initBackoff ?? ACCOUNT_INIT_BACKOFF);
    const runtime = entry.runtime;
    let failed = afterFailure;
    while (!entry.stopped && !this.closed) {
      if (failed) {
        const waitMs = backoff.next(this.clock());
        this.options.logger.error({ account: runtime.name, err: runtime.lastError, retryInMs: waitMs }, "cannot reach the account's cluster");
        await new Promise((resolve) => setTimeout(resolve, waitMs).unref());
        if (entry.stopped || this.closed) return;
      }
      try {
        await this.reach(async () => {
          if (!entry.stopped && !this.closed) await runtime.init();
        });
      } catch {
        failed = true;
        if (entry.stopped || this.closed) return;
        if (runtime.lastError !== entry.declaredReason) {
          entry.declaredReason = runtime.lastError;
          this.options.declare([runtime.declaration()], []);
        }
        continue;
      }
      if (entry.stopped || this.closed) return;
      this.logReady(runtime);
      entry.declaredReason = undefined;
      this.options.declare([runtime.declaration()], []);
      return;
    }
  }

  /**
   * Runs one reach of a cluster (discovery, credentials) within initConcurrency at a time, for every
   * account however it came: at start, from a reload or from the hub. Thousands of dynamic accounts
   * sent at once would otherwise reach their clusters (and read their secrets) all at once, each
   * holding its discovery documents, next to the accounts already running.
   */
  private async reach(run: () => Promise<void>): Promise<void> {
    while (this.reaching >= this.options.initConcurrency && !this.closed) await new Promise<void>((wake) => this.waitingToReach.push(wake));
    this.reaching++;
    try {
      await run();
    } finally {
      this.reaching--;
      this.waitingToReach.shift()?.();
    }
  }

  private logReady(runtime: R): void {
    this.options.logger.info(
      { account: runtime.name, host: runtime.facts?.host, version: runtime.facts?.kubernetesVersion, kinds: runtime.resources.length },
      'account ready',
    );
  }
}
