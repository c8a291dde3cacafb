import { Errors, errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { failedOutcome, type HopTimings } from '../router/failed-outcome.ts';
import type { ForwardedOperationRunner, OperationForwarder, OperationOutcome, OperationRequest } from '../router/types.ts';
import type { AccountReader, AssignmentStore, RelayedClaim, RelayedOperation, RelayStore } from '../store/types.ts';
import type { RelayEvent, RelayWakeups } from './relay-wakeups.ts';
import { SerialPass } from '../../common/serial-pass.ts';

/** Queued or claimed rows read per poll. */
const RELAY_BATCH = 200;
/**
 * Largest request or outcome relayed through the database (JSON bytes): within MySQL's smallest
 * documented max_allowed_packet (4 MiB) with room for the statement. Larger ones run only at a replica
 * with a session for the account.
 */
export const MAX_RELAYED_BYTES = 3 * 1024 * 1024;
/**
 * A replica whose session only stands by for an account (another session caches it) leaves a queued
 * operation this long to the replica whose session caches it, whose cache barrier is exact.
 */
export const STANDBY_CLAIM_DELAY_MS = 1000;
/** A queued operation nobody claimed within this long (or its deadline, if sooner) fails: no replica serves the account. */
export const RELAY_CLAIM_TIMEOUT_MS = 10_000;
/**
 * An account whose last session ended this recently may still be served by a standby at another replica
 * (not recorded in the database until it takes caching over): its operations are queued, not failed at once.
 */
export const RECENTLY_SERVED_MS = 15_000;
/** After the deadline, the submitter waits this long for the claimer's own deadline outcome before writing one. */
export const RELAY_RESULT_GRACE_MS = 2000;
/** Rows this long past their deadline are deleted by any replica (their submitter died). */
export const RELAY_RETENTION_MS = 10 * 60_000;
/** Attempts at recording an outcome before it is left to the submitter's deadline. */
const COMPLETE_ATTEMPTS = 5;
const COMPLETE_BACKOFF_MS = 200;

export interface OperationRelayOptions {
  store: RelayStore & Pick<AssignmentStore, 'getAssignment'> & Pick<AccountReader, 'getAccount'>;
  wakeups: RelayWakeups;
  hubId: string;
  logger: Logger;
  /** Which replicas are live now (the replica presence answers); a claimer not among them died. */
  liveReplicas: () => Promise<ReadonlySet<string>>;
  /** How often dead claimers are looked for (hub.heartbeatIntervalSeconds). */
  sweepIntervalMs: number;
  clock?: () => number;
}

/** The hops a relayed operation had made at its submitter: received and routed (queued), never sent from here. */
function hopsOf(waiter: Waiter): HopTimings {
  return { receivedAt: waiter.receivedAt, routedAt: waiter.routedAt, sentAt: null };
}

interface Waiter {
  id: string;
  account: string;
  deadlineAt: number;
  claimBy: number;
  receivedAt: number;
  routedAt: number;
  resolve: (outcome: OperationOutcome) => void;
}

/**
 * The operation relay between hub replicas, through the shared database. An operation submitted at a
 * replica with no agent session for its account is queued in `relayed_operations`; a replica whose
 * session serves the account claims it (the caching one first), marks it SENT, hands it to its agent
 * and records the outcome, which the submitter reads back, answers with and deletes. PostgreSQL's
 * LISTEN/NOTIFY wakes the replicas; MySQL replicas poll. Every step is a compare-and-set on the row,
 * which gives at most once per operation id: a claim whose replica died before SENT goes back to the
 * queue for another replica; one that died after SENT fails with OPERATION_OUTCOME_UNKNOWN and is
 * never sent again.
 */
export class OperationRelay implements OperationForwarder {
  private readonly waiters = new Map<string, Waiter>();
  private readonly running = new Set<Promise<void>>();
  private readonly claiming = new Set<Promise<void>>();
  private readonly clock: () => number;
  private executor: ForwardedOperationRunner | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: OperationRelayOptions) {
    this.clock = options.clock ?? Date.now;
  }

  setExecutor(executor: ForwardedOperationRunner): void {
    this.executor = executor;
  }

  /** Settles what a former run of this replica left in the table, then listens and polls. */
  async start(): Promise<void> {
    const leftovers = await this.options.store.listClaimedRelayed({ claimedBy: this.options.hubId }, RELAY_BATCH);
    await this.settleClaims(leftovers, 'a former run of this replica');
    await this.options.wakeups.start(
      (event) => this.onEvent(event),
      () => void this.poll(),
    );
    this.pollTimer = setInterval(() => void this.poll(), this.options.wakeups.pollIntervalMs);
    this.pollTimer.unref();
    this.sweepTimer = setInterval(() => void this.sweep(), this.options.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  /**
   * Whether the account may be served at another replica: its caching lease is live there, its row says
   * connected, or its last session ended within RECENTLY_SERVED_MS (a standby at another replica may be
   * taking caching over, and standbys run operations meanwhile). Only then is an operation queued,
   * bounded by the claim timeout; otherwise it fails at once.
   */
  async servedElsewhere(account: string): Promise<boolean> {
    const now = this.clock();
    const assignment = await this.options.store.getAssignment(account);
    if (assignment !== undefined && assignment.leaseExpiresAt > now && assignment.hubId !== this.options.hubId) return true;
    const record = await this.options.store.getAccount(account);
    if (record === undefined) return false;
    // Its agent is connected but cannot reach the cluster: nobody else can run the operation either.
    if (record.unreachableReason !== undefined) return false;
    // Connected through this very replica while none of its sessions serves it: its session has just
    // ended (the row is about to say so) or the row is stale (the account sweep corrects it). Either way a
    // standby elsewhere may serve it.
    return record.status === 'connected' || now - record.lastSeenAt < RECENTLY_SERVED_MS;
  }

  /**
   * Queues an operation for another replica and waits for its outcome. Never rejects: a store that
   * cannot queue it, no replica taking it, or the deadline passing are failed outcomes.
   */
  async submit(id: string, account: string, request: OperationRequest, deadlineAt: number, receivedAt: number): Promise<OperationOutcome> {
    const now = this.clock();
    const timings = { receivedAt, routedAt: now, sentAt: null };
    if (this.stopped)
      return failedOutcome(id, account, Errors.ACCOUNT_NOT_CONNECTED.code, 'this hub replica is stopping: it relays no more operations', timings);
    // Ids are ULIDs; a second operation under one this replica waits for would take its waiter's place.
    if (this.waiters.has(id)) return failedOutcome(id, account, Errors.INTERNAL_ERROR.code, `operation id ${id} is already relayed by this replica`, timings);
    const requestJson = JSON.stringify(request);
    if (Buffer.byteLength(requestJson) > MAX_RELAYED_BYTES) {
      return failedOutcome(
        id,
        account,
        Errors.OPERATION_TOO_LARGE.code,
        `the operation is larger than an operation relayed between hub replicas may be (${MAX_RELAYED_BYTES} bytes); submit it to a replica its agent is connected to`,
        timings,
      );
    }
    try {
      await this.options.store.enqueueRelayed({ id, account, originHubId: this.options.hubId, request: requestJson, deadlineAt, createdAt: now }, now);
    } catch (err) {
      // The INSERT may have committed with its answer lost: then another replica may claim and run it.
      // So the operation is waited for like any other; if it was never queued, its give-up finds no row
      // and answers that (expire()).
      this.options.logger.warn({ operationId: id, account, err: errorMessage(err) }, 'queueing a relayed operation failed; waiting in case it was queued');
    }
    const outcome = new Promise<OperationOutcome>((resolve) => {
      this.waiters.set(id, { id, account, deadlineAt, claimBy: Math.min(deadlineAt, now + RELAY_CLAIM_TIMEOUT_MS), receivedAt, routedAt: now, resolve });
    });
    void this.options.wakeups.publish({ kind: 'queued', id, account });
    return outcome;
  }

  /** Operations this replica waits for (tests, metrics). */
  get waiting(): number {
    return this.waiters.size;
  }

  /** Stops polling; waits for the operations this replica runs for others, and fails its own waiters. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pollTimer);
    clearInterval(this.sweepTimer);
    await this.polls.current;
    while (this.claiming.size > 0 || this.running.size > 0) await Promise.allSettled([...this.claiming, ...this.running]);
    // Outcomes already recorded are answered; operations still queued are withdrawn, so that they never
    // run after their submitter was told it stopped; the rest may have run.
    await this.collect().catch(() => undefined);
    for (const waiter of [...this.waiters.values()]) {
      const timings = hopsOf(waiter);
      const withdrawn = failedOutcome(
        waiter.id,
        waiter.account,
        Errors.ACCOUNT_NOT_CONNECTED.code,
        'the hub replica stopped before another replica took the operation; it did not run',
        timings,
      );
      const gone = await this.options.store.completeRelayed(waiter.id, JSON.stringify(withdrawn), { statuses: ['QUEUED'] }, this.clock()).catch(() => false);
      waiter.resolve(
        gone
          ? withdrawn
          : failedOutcome(
              waiter.id,
              waiter.account,
              Errors.OPERATION_OUTCOME_UNKNOWN.code,
              'the hub replica stopped while the operation was relayed to another replica',
              timings,
            ),
      );
      if (gone) await this.options.store.deleteRelayed([waiter.id]).catch(() => undefined);
    }
    this.waiters.clear();
    await this.options.wakeups.close();
  }

  private onEvent(event: RelayEvent): void {
    if (this.stopped) return;
    if (event.kind === 'done') {
      if (event.originHubId === this.options.hubId && this.waiters.has(event.id)) void this.poll();
      return;
    }
    // A poll rather than a claim of the named id: polls never overlap, so a burst of notifications
    // (or forged ones: any client of the database may NOTIFY) costs one pass, not a statement each.
    if (this.executor?.serves(event.account) === 'caching') void this.poll();
  }

  /** One pass over the table: outcomes for this replica's waiters, their timeouts, and queued operations to claim. Never overlaps itself. */
  poll(): Promise<void> {
    return this.polls.run();
  }

  private readonly polls = new SerialPass(
    async () => {
      try {
        await this.collect();
        await this.expire();
        await this.claimQueued();
      } catch (err) {
        this.options.logger.warn({ err: errorMessage(err) }, 'relay poll failed; the next one tries again');
      }
    },
    () => this.stopped,
  );

  /** Reads the outcomes of this replica's finished operations, answers their waiters, deletes the rows. */
  private async collect(): Promise<void> {
    if (this.waiters.size === 0) return;
    const finished = await this.options.store.finishedRelayed(this.options.hubId, RELAY_BATCH);
    if (finished.length === 0) return;
    for (const { id, outcome } of finished) this.answer(id, outcome);
    await this.options.store.deleteRelayed(finished.map((f) => f.id));
  }

  private answer(id: string, outcomeJson: string): void {
    const waiter = this.waiters.get(id);
    if (waiter === undefined) return;
    this.waiters.delete(id);
    let outcome: OperationOutcome;
    try {
      const parsed: unknown = JSON.parse(outcomeJson);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`not an outcome: ${outcomeJson.slice(0, 100)}`);
      outcome = parsed as OperationOutcome;
    } catch (err) {
      outcome = failedOutcome(id, waiter.account, Errors.INTERNAL_ERROR.code, `the relayed outcome does not parse: ${errorMessage(err)}`, hopsOf(waiter));
    }
    outcome.timings = { ...outcome.timings, receivedAt: waiter.receivedAt };
    waiter.resolve(outcome);
  }

  /**
   * Waiters whose operation nobody claimed in time, or whose deadline (plus grace) passed: their outcome
   * is written by this replica, but only while the row is still where it was (compare-and-set), so a
   * claimer's outcome and this one never both count.
   */
  private async expire(): Promise<void> {
    const now = this.clock();
    for (const waiter of [...this.waiters.values()]) {
      const timings = hopsOf(waiter);
      if (now >= waiter.deadlineAt + RELAY_RESULT_GRACE_MS) {
        const outcome = failedOutcome(
          waiter.id,
          waiter.account,
          Errors.OPERATION_DEADLINE_EXCEEDED.code,
          `no outcome for the operation relayed to the replica serving account ${waiter.account} before its deadline; whether it ran is unknown`,
          timings,
          now,
        );
        await this.giveUp(waiter, outcome, ['QUEUED', 'CLAIMED', 'SENT']);
      } else if (now >= waiter.claimBy) {
        const outcome = failedOutcome(
          waiter.id,
          waiter.account,
          Errors.ACCOUNT_NOT_CONNECTED.code,
          `no hub replica with an agent session for account ${waiter.account} took the operation within ${Math.round((waiter.claimBy - waiter.routedAt) / 1000)} s`,
          timings,
          now,
        );
        await this.giveUp(waiter, outcome, ['QUEUED']);
      }
    }
  }

  /**
   * Writes the waiter's outcome if its row is still in one of `from` (compare-and-set). When it is not:
   * a row that is no longer there was never queued (its INSERT failed), so the operation did not run;
   * a row claimed or sent is left to its claimer, and the claim timeout is not checked again before
   * another period has passed (it may be requeued).
   */
  private async giveUp(waiter: Waiter, outcome: OperationOutcome, from: Array<'QUEUED' | 'CLAIMED' | 'SENT'>): Promise<void> {
    const { store } = this.options;
    if (!(await store.completeRelayed(waiter.id, JSON.stringify(outcome), { statuses: from }, this.clock()))) {
      const status = await store.relayedStatus(waiter.id);
      if (status !== undefined) {
        if (status !== 'DONE') waiter.claimBy = Math.min(waiter.deadlineAt, this.clock() + RELAY_CLAIM_TIMEOUT_MS);
        return;
      }
      outcome = { ...outcome, message: `${outcome.message} (the operation could not be queued: it did not run)` };
    }
    this.waiters.delete(waiter.id);
    waiter.resolve(outcome);
    await store.deleteRelayed([waiter.id]);
  }

  private async claimQueued(): Promise<void> {
    const executor = this.executor;
    if (executor === undefined || this.stopped) return;
    const now = this.clock();
    for (const row of await this.options.store.listQueuedRelayed(now, RELAY_BATCH)) {
      const serving = executor.serves(row.account);
      if (serving === 'caching' || (serving === 'standby' && now - row.createdAt >= STANDBY_CLAIM_DELAY_MS)) await this.claim(row.id);
    }
  }

  /** Claims one queued operation and runs it in the background; nothing when another replica took it first. */
  private claim(id: string): Promise<void> {
    const claiming = this.claimOne(id).finally(() => this.claiming.delete(claiming));
    this.claiming.add(claiming);
    return claiming;
  }

  private async claimOne(id: string): Promise<void> {
    const { store, hubId, logger } = this.options;
    if (this.stopped) return;
    let op: RelayedOperation | undefined;
    try {
      op = await store.claimRelayed(id, hubId, this.clock());
    } catch (err) {
      // The claim may have committed with its answer lost: a row claimed by this replica and run by
      // nobody would wait for its deadline. Given back if it is ours.
      const returned = await store.unclaimRelayed(id, hubId, this.clock()).catch(() => false);
      logger.warn({ operationId: id, err: errorMessage(err), returned }, 'cannot claim a relayed operation; the next poll tries again');
      return;
    }
    if (op === undefined) return;
    if (this.stopped) {
      await store.unclaimRelayed(op.id, hubId, this.clock()).catch(() => false);
      return;
    }
    const claimed = op;
    const run = this.run(claimed)
      .catch(async (err: unknown) => {
        // A request this replica cannot run (malformed, from a newer replica): its outcome says so.
        logger.error({ operationId: claimed.id, err: errorMessage(err) }, 'running a relayed operation failed');
        const outcome = failedOutcome(claimed.id, claimed.account, Errors.INTERNAL_ERROR.code, `the relayed operation could not be run: ${errorMessage(err)}`, {
          receivedAt: claimed.createdAt,
          routedAt: null,
          sentAt: null,
        });
        await this.complete(claimed, outcome, ['CLAIMED', 'SENT']);
      })
      .finally(() => this.running.delete(run));
    this.running.add(run);
  }

  private async run(op: RelayedOperation): Promise<void> {
    const { store, hubId, logger } = this.options;
    const executor = this.executor;
    let request: OperationRequest;
    try {
      request = JSON.parse(op.request) as OperationRequest;
    } catch (err) {
      const outcome = failedOutcome(op.id, op.account, Errors.INTERNAL_ERROR.code, `the relayed request does not parse: ${errorMessage(err)}`, {
        receivedAt: op.createdAt,
        routedAt: null,
        sentAt: null,
      });
      await this.complete(op, outcome, ['CLAIMED']);
      return;
    }
    const result =
      executor === undefined
        ? 'no-session'
        : await executor.runClaimed(op, request, () => store.markRelayedSent(op.id, hubId, this.clock()).catch(() => false));
    if (result === 'claim-lost' || result === 'no-session') {
      // Not sent. A claim that another replica took is not ours to give back (the UPDATE then changes
      // nothing); one whose SENT mark failed in the store, or whose session went meanwhile, goes back to
      // the queue for another replica (or a later session here).
      const requeued = await store.unclaimRelayed(op.id, hubId, this.clock()).catch((err: unknown) => {
        logger.warn(
          { operationId: op.id, err: errorMessage(err) },
          'cannot give a relayed operation back; it was not sent, and its submitter fails it at the deadline',
        );
        return false;
      });
      if (requeued) void this.options.wakeups.publish({ kind: 'queued', id: op.id, account: op.account });
      logger.warn(
        { operationId: op.id, account: op.account, reason: result, requeued },
        'a claimed relayed operation was not sent: its claim could not be confirmed or no session serves the account here any more',
      );
      return;
    }
    // CLAIMED too: an outcome the runner gave without sending (a request it cannot encode).
    await this.complete(op, result, ['CLAIMED', 'SENT']);
  }

  /** Records a claimed operation's outcome, retrying a failing store a few times; then tells its submitter. */
  private async complete(op: RelayedOperation, outcome: OperationOutcome, from: Array<'CLAIMED' | 'SENT'>): Promise<void> {
    const { store, hubId, logger } = this.options;
    let json = JSON.stringify(outcome);
    if (Buffer.byteLength(json) > MAX_RELAYED_BYTES) {
      // Too large for the row: what it wrote is kept, its body is not (a large list or log).
      json = JSON.stringify({
        ...outcome,
        body: null,
        errorCode: outcome.errorCode ?? Errors.OPERATION_RESULT_TOO_LARGE.code,
        message: `${outcome.message} (the result was larger than an operation relayed between hub replicas may return: ${MAX_RELAYED_BYTES} bytes)`.trim(),
      });
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const recorded = await store.completeRelayed(op.id, json, { statuses: from, claimedBy: hubId }, this.clock());
        if (!recorded) logger.warn({ operationId: op.id, account: op.account }, 'the outcome of a relayed operation came after its submitter gave up on it');
        else void this.options.wakeups.publish({ kind: 'done', id: op.id, originHubId: op.originHubId });
        return;
      } catch (err) {
        if (attempt >= COMPLETE_ATTEMPTS || this.clock() > op.deadlineAt + RELAY_RESULT_GRACE_MS) {
          logger.error(
            { operationId: op.id, err: errorMessage(err) },
            'cannot record the outcome of a relayed operation; its submitter fails it at the deadline',
          );
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, COMPLETE_BACKOFF_MS * attempt));
      }
    }
  }

  /**
   * Settles what dead replicas claimed: an operation claimed and not yet sent goes back to the queue;
   * one sent fails with OPERATION_OUTCOME_UNKNOWN (it may have run). Deletes rows long past their deadline.
   */
  async sweep(): Promise<void> {
    try {
      const live = await this.options.liveReplicas();
      // Only claims of replicas not live (nor this one): live replicas' claims, however many, hide none.
      const claims = await this.options.store.listClaimedRelayed({ exceptHubs: [...live, this.options.hubId] }, RELAY_BATCH);
      await this.settleClaims(claims, 'a hub replica that died');
      await this.options.store.pruneRelayed(this.clock() - RELAY_RETENTION_MS);
    } catch (err) {
      this.options.logger.warn({ err: errorMessage(err) }, 'relay sweep failed; the next one tries again');
    }
  }

  /** Settles claims whose replica is gone (`who` says which, for the log). */
  private async settleClaims(claims: readonly RelayedClaim[], who: string): Promise<void> {
    const { store, logger } = this.options;
    const now = this.clock();
    for (const claim of claims) {
      if (claim.status === 'CLAIMED') {
        if (await store.unclaimRelayed(claim.id, claim.claimedBy, now)) {
          logger.info(
            { operationId: claim.id, account: claim.account, claimedBy: claim.claimedBy },
            `requeued a relayed operation claimed by ${who} before it was sent`,
          );
          void this.options.wakeups.publish({ kind: 'queued', id: claim.id, account: claim.account });
        }
        continue;
      }
      const outcome = failedOutcome(
        claim.id,
        claim.account,
        Errors.OPERATION_OUTCOME_UNKNOWN.code,
        `hub replica ${claim.claimedBy} sent the operation to its agent for account ${claim.account} and stopped before the result came back; whether it ran is unknown, and it is not sent again`,
        { receivedAt: now, routedAt: null, sentAt: null },
        now,
      );
      if (await store.completeRelayed(claim.id, JSON.stringify(outcome), { statuses: ['SENT'], claimedBy: claim.claimedBy }, now)) {
        logger.warn(
          { operationId: claim.id, account: claim.account, claimedBy: claim.claimedBy },
          `failed a relayed operation sent by ${who}: outcome unknown`,
        );
        void this.options.wakeups.publish({ kind: 'done', id: claim.id, originHubId: claim.originHubId });
      }
    }
  }
}
