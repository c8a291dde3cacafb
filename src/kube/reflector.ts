import { Backoff, type BackoffOptions } from '../common/backoff.ts';
import { errorMessage, Errors, isScaleAgentError, ScaleAgentError } from '../common/errors.ts';
import type { KubeObject } from '../common/kube-object.ts';
import type { Logger } from '../common/logger.ts';
import { delay } from '../common/time.ts';
import { apiErrorStatus, HTTP_FORBIDDEN, HTTP_NOT_FOUND, HTTP_TOO_MANY_REQUESTS, isExpiredError, kubeApiError, type KubeApiErrorDetails } from './api-error.ts';
import { apiVersionOf, resourcePath, type ApiResource } from './api-resource.ts';
import { WATCH_DEADLINE_GRACE_MS, type QueryValue, type WatchOptions } from './client.ts';
import { listPages, type KubeList, type PageDecoder, type PageFetcher } from './pager.ts';
import {
  DEFAULT_FORBIDDEN_RETRY_MS,
  DEFAULT_PAGE_SIZE,
  DEFAULT_REFLECTOR_BACKOFF,
  DEFAULT_STALL_TIMEOUT_MS,
  DEFAULT_WATCH_TIMEOUT_MAX_SECONDS,
  DEFAULT_WATCH_TIMEOUT_MIN_SECONDS,
  FORBIDDEN_FAST_RETRIES,
  FORBIDDEN_RETRY_JITTER,
  LIST_CONTINUE_RESTART_LIMIT,
  LIST_PAGE_TIMEOUT_MS,
  MIN_HEALTHY_WATCH_MS,
} from './reflector-defaults.ts';
import { isVerificationSink, type ReflectorSink, type SnapshotReason } from './reflector-sink.ts';
import { SlimItem } from './slim-item.ts';
import { slimListDecoder, slimWatchLineDecoder } from './slim-list.ts';
import { slimObject } from './slim.ts';
import type { WatchEvent, WatchLineDecoder } from './watch-event.ts';

const MS_PER_SECOND = 1000;

/** The two client calls a reflector makes (KubeClient has both); the ListerWatcher of client-go. */
export interface ListerWatcher extends PageFetcher {
  /** Runs one watch to its end, handing each event to `onEvent` (KubeClient.watchEvents). */
  watchEvents(
    path: string,
    query: Record<string, QueryValue>,
    signal: AbortSignal | undefined,
    options: WatchOptions,
    onEvent: (event: WatchEvent) => void,
  ): Promise<void>;
}

/** A budget of concurrent initial lists shared by many reflectors; `acquire` resolves to a release function. */
export interface ListSemaphore {
  acquire(): Promise<() => void>;
}

export interface ReflectorOptions {
  client: ListerWatcher;
  resource: ApiResource;
  /** '' = all namespaces (or a cluster-scoped resource). */
  namespace: string;
  sink: ReflectorSink;
  /** Start by watching from here (no list); a 410 turns into a 'resume-failed' snapshot. */
  resumeResourceVersion?: string;
  pageSize?: number;
  watchTimeoutMinSeconds?: number;
  watchTimeoutMaxSeconds?: number;
  backoff?: Partial<BackoffOptions>;
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * Applied to every object (list items and events) before the sink sees it, e.g. slimObject. With
   * slimObject itself, list pages are slimmed from their bytes instead (slim-list.ts): their items reach
   * the sink as SlimItems, which carry the slimmed JSON and the metadata, not the object's other members.
   */
  transform?: (obj: KubeObject) => KubeObject;
  listSemaphore?: ListSemaphore;
  /**
   * Awaited before each list page is requested: lets the consumer hold a long list back while it still
   * digests earlier pages (the agent's pending-changes high-water mark). Rejecting aborts the list.
   */
  pageGate?: (signal: AbortSignal) => Promise<void>;
  /**
   * Each page of a (re)list as it arrives, before its objects reach the sink (not the pages of a
   * verification list): for progress reports, which learn from it how many objects a list holds.
   */
  onListPage?: (page: ListPageInfo) => void;
  stallTimeoutMs?: number;
  /** Wait between attempts once a kind has been refused (403/404) more than FORBIDDEN_FAST_RETRIES times. */
  forbiddenRetryMs?: number;
  /** Called after every change of state (not for a re-entry of the same state). */
  onStateChange?: (state: ReflectorState, previous: ReflectorState) => void;
  logger?: Logger;
  /** Epoch ms (tests). */
  clock?: () => number;
  /** In [0, 1) (tests). */
  random?: () => number;
  /** Waits out a backoff or slow retry before the next attempt, rejecting when `signal` aborts (tests); real time by default. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** One page of a list, as progress reports see it. */
export interface ListPageInfo {
  /** Items on this page. */
  items: number;
  /** The list's first page (a list that restarts, its continue token expired, has a first page again). */
  first: boolean;
  /** No continue token: the list is complete with this page. */
  last: boolean;
  /**
   * Items after this page, when the API server says (`metadata.remainingItemCount`: set on paged lists
   * without selectors, an estimate when later pages are read at an older resourceVersion).
   */
  remainingItemCount?: number;
}

function listPageInfo(page: KubeList, first: boolean): ListPageInfo {
  const info: ListPageInfo = { items: page.items?.length ?? 0, first, last: !page.metadata?.continue };
  const remaining = page.metadata?.remainingItemCount;
  if (typeof remaining === 'number' && Number.isFinite(remaining) && remaining >= 0) info.remainingItemCount = remaining;
  return info;
}

/**
 * - queued: waiting for a slot in the list budget (other lists are running);
 * - listing: a paged list is in progress;
 * - watching: a watch is open (or being opened);
 * - backoff: waiting after a failure;
 * - forbidden: the API server refused list/watch (403) or no longer serves the kind (404); retried slowly;
 * - stopped: not running.
 */
export type ReflectorState = 'queued' | 'listing' | 'watching' | 'backoff' | 'forbidden' | 'stopped';

export const REFLECTOR_STATES: readonly ReflectorState[] = ['queued', 'listing', 'watching', 'backoff', 'forbidden', 'stopped'];

export interface ReflectorStatus {
  state: ReflectorState;
  /** Epoch ms at which the current state began. */
  stateSince: number;
  /** Epoch ms of the last ADDED/MODIFIED/DELETED. */
  lastEventAt?: number;
  /**
   * Epoch ms of the last sign of freshness: event, bookmark, completed list, a watch the server accepted,
   * or one it ended cleanly. A real API server sends a quiet kind no bookmark for many minutes, and ends
   * each watch after its timeoutSeconds: a clean end and a successful re-watch are how a quiet feed shows
   * it is alive.
   */
  lastProgressAt?: number;
  /**
   * While a watch the server accepted is open: the epoch ms by which the server should have ended it
   * (its timeoutSeconds plus the client's grace). Until then any change would arrive: the feed is fresh.
   */
  watchOpenUntil?: number;
  /** Epoch ms of the last list page received (a long list is alive while pages arrive). */
  lastListPageAt?: number;
  /**
   * Epoch ms of the first failure since the last progress; cleared by progress and on a refusal (a
   * forbidden kind is reported, not failing).
   */
  failingSince?: number;
  /**
   * What the API server said (its Status message) when it last refused the kind (403/404); kept through
   * the retries that follow, until a list or watch succeeds.
   */
  forbiddenReason?: string;
  /** In states backoff and forbidden: epoch ms of the next attempt. */
  nextAttemptAt?: number;
  resourceVersion?: string;
  relists: number;
  watchRestarts: number;
  errors: number;
  lastError?: { message: string; code?: string; httpStatus?: number; at: number };
}

/** What the loop does next. `resuming` marks a watch from an RV not (yet) confirmed by this server. */
type Plan = { kind: 'list'; reason: SnapshotReason } | { kind: 'watch'; resourceVersion: string; resuming: boolean; afterList: boolean };

/** Aborts an attempt because restartFrom() was called (distinguished from stop()). */
const RESTART = new Error('reflector restart requested');
RESTART.name = 'AbortError';
const STOP = new Error('reflector stopped');
STOP.name = 'AbortError';

/** Thrown inside a list when a continue token expired; the list restarts from the first page. */
class ContinueExpired extends Error {}

/**
 * List-then-watch for one resource in one namespace scope, after client-go's Reflector: paged list at a
 * consistent RV, then watches with bookmarks and random timeouts, re-watching from the last RV on clean
 * ends, relisting on 410, backing off (with jitter) on anything else, forever until stop(). It keeps no
 * object store: objects go to the sink and are not retained.
 */
export class Reflector {
  private readonly client: ListerWatcher;
  private readonly resource: ApiResource;
  private readonly sink: ReflectorSink;
  private readonly path: string;
  private readonly apiVersion: string;
  private readonly options: ReflectorOptions;
  private readonly backoff: Backoff;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly selectors: Record<string, QueryValue>;
  /** Slims list pages from their bytes (the transform is slimObject). */
  private readonly decodePage: PageDecoder | undefined;
  /** Slims watch events from their bytes (the transform is slimObject). */
  private readonly decodeWatchLine: WatchLineDecoder | undefined;

  private state: ReflectorState = 'stopped';
  private stateSince: number;
  private resourceVersion: string | undefined;
  private lastEventAt: number | undefined;
  private lastProgressAt: number | undefined;
  private watchOpenUntil: number | undefined;
  private lastListPageAt: number | undefined;
  private failingSince: number | undefined;
  private forbiddenReason: string | undefined;
  private nextAttemptAt: number | undefined;
  /** Refusals (403/404) since the last success: the first few take the ordinary backoff. */
  private refusals = 0;
  private relists = 0;
  private watchRestarts = 0;
  private errors = 0;
  private lastError: ReflectorStatus['lastError'];

  private running: Promise<void> | undefined;
  private stopping = false;
  private attempt: AbortController | undefined;
  private requestedRestart: { resourceVersion: string | undefined } | undefined;
  /** Verification lists in flight (verify()), aborted by stop(). */
  private readonly verifications = new Set<AbortController>();

  constructor(options: ReflectorOptions) {
    this.options = options;
    this.client = options.client;
    this.resource = options.resource;
    this.sink = options.sink;
    this.path = resourcePath(options.resource, options.namespace);
    this.apiVersion = apiVersionOf(options.resource);
    this.now = options.clock ?? Date.now;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? delay;
    this.backoff = new Backoff({ ...DEFAULT_REFLECTOR_BACKOFF, ...options.backoff }, this.random);
    this.selectors = { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector };
    const slimming = options.transform === slimObject;
    const defaults = { kind: options.resource.kind, apiVersion: this.apiVersion };
    this.decodePage = slimming ? slimListDecoder(defaults) : undefined;
    this.decodeWatchLine = slimming ? slimWatchLineDecoder(defaults) : undefined;
    this.stateSince = this.now();
  }

  /** Starts the loop (idempotent). */
  start(): void {
    if (this.running !== undefined) return;
    this.stopping = false;
    this.running = this.run().finally(() => {
      this.setState('stopped');
    });
  }

  /** Aborts in-flight requests; resolves when the loop has exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.attempt?.abort(STOP);
    for (const verification of this.verifications) verification.abort(STOP);
    await this.running;
    this.running = undefined;
  }

  /** Abandons the current list/watch/backoff and resumes watching from `resourceVersion`, or relists when undefined. */
  restartFrom(resourceVersion: string | undefined): void {
    this.requestedRestart = { resourceVersion };
    this.attempt?.abort(RESTART);
  }

  status(): ReflectorStatus {
    const status: ReflectorStatus = {
      state: this.state,
      stateSince: this.stateSince,
      relists: this.relists,
      watchRestarts: this.watchRestarts,
      errors: this.errors,
    };
    if (this.lastEventAt !== undefined) status.lastEventAt = this.lastEventAt;
    if (this.lastProgressAt !== undefined) status.lastProgressAt = this.lastProgressAt;
    if (this.watchOpenUntil !== undefined) status.watchOpenUntil = this.watchOpenUntil;
    if (this.lastListPageAt !== undefined) status.lastListPageAt = this.lastListPageAt;
    if (this.failingSince !== undefined) status.failingSince = this.failingSince;
    if (this.forbiddenReason !== undefined) status.forbiddenReason = this.forbiddenReason;
    if ((this.state === 'backoff' || this.state === 'forbidden') && this.nextAttemptAt !== undefined) status.nextAttemptAt = this.nextAttemptAt;
    if (this.resourceVersion !== undefined) status.resourceVersion = this.resourceVersion;
    if (this.lastError !== undefined) status.lastError = { ...this.lastError };
    return status;
  }

  private setState(next: ReflectorState): void {
    const previous = this.state;
    if (next === previous) return;
    this.state = next;
    this.stateSince = this.now();
    this.options.onStateChange?.(next, previous);
  }

  /** Something that proves the feed is fresh arrived: clears the failure streak. */
  private progressed(): void {
    this.lastProgressAt = this.now();
    this.failingSince = undefined;
    this.refusals = 0;
    this.forbiddenReason = undefined;
  }

  private async run(): Promise<void> {
    const resume = this.options.resumeResourceVersion;
    let plan: Plan = resume === undefined ? { kind: 'list', reason: 'initial' } : { kind: 'watch', resourceVersion: resume, resuming: true, afterList: true };
    if (resume !== undefined) this.resourceVersion = resume;
    let waitMs = 0;
    while (!this.stopping) {
      const restart = this.takeRestart();
      if (restart !== undefined) {
        plan = restart;
        waitMs = 0;
      }
      const attempt = new AbortController();
      this.attempt = attempt;
      try {
        if (waitMs > 0) await this.sleep(waitMs, attempt.signal);
        waitMs = 0;
        plan = plan.kind === 'list' ? await this.list(plan.reason, attempt.signal) : await this.watch(plan, attempt.signal);
      } catch (err) {
        if (this.stopping) break;
        if (attempt.signal.aborted && this.requestedRestart !== undefined) continue;
        ({ plan, waitMs } = this.recover(plan, err));
      }
    }
    this.attempt = undefined;
  }

  private takeRestart(): Plan | undefined {
    const requested = this.requestedRestart;
    if (requested === undefined) return undefined;
    this.requestedRestart = undefined;
    if (requested.resourceVersion === undefined) return { kind: 'list', reason: 'error' };
    this.resourceVersion = requested.resourceVersion;
    return { kind: 'watch', resourceVersion: requested.resourceVersion, resuming: true, afterList: true };
  }

  /** Decides what follows a failure, and how long to wait first. */
  private recover(plan: Plan, err: unknown): { plan: Plan; waitMs: number } {
    this.errors++;
    const now = this.now();
    const status = apiErrorStatus(err);
    this.lastError = { message: errorMessage(err), at: now };
    if (err instanceof ScaleAgentError) this.lastError.code = err.code;
    if (status !== undefined) this.lastError.httpStatus = status;

    if (plan.kind === 'watch' && isExpiredError(err)) {
      // Too old: relist at once (client-go does not back off here; the list is the remedy). A 410 on a
      // list itself (not a continue token, handled inside list) is a broken server and takes the backoff.
      const reason: SnapshotReason = plan.resuming ? 'resume-failed' : 'expired';
      this.options.logger?.info({ path: this.path, reason }, 'resourceVersion expired; relisting');
      return { plan: { kind: 'list', reason }, waitMs: 0 };
    }
    const next = plan.kind === 'watch' ? this.rewatch(plan) : plan;
    if (status === HTTP_FORBIDDEN || status === HTTP_NOT_FOUND) return { plan: next, waitMs: this.refused(err, now) };
    this.failingSince ??= now;
    if (plan.kind === 'watch' && isScaleAgentError(err, Errors.KUBE_TIMEOUT.code)) {
      // A stalled watch (or one the server never closed) has already cost its wait; re-watch now.
      this.options.logger?.warn({ path: this.path, err: errorMessage(err) }, 'watch stalled; restarting');
      return { plan: next, waitMs: 0 };
    }
    let waitMs = this.backoff.next(now);
    if (status === HTTP_TOO_MANY_REQUESTS) {
      const retryAfter = err instanceof ScaleAgentError ? err.details.retryAfterSeconds : undefined;
      if (typeof retryAfter === 'number') waitMs = Math.max(waitMs, retryAfter * 1000);
    }
    this.setState('backoff');
    this.nextAttemptAt = now + waitMs;
    this.options.logger?.warn({ path: this.path, err: errorMessage(err), waitMs }, 'list/watch failed; backing off');
    return { plan: next, waitMs };
  }

  /**
   * A 403 (the account may not list/watch) or 404 (the kind is gone, e.g. its CRD was deleted): state
   * forbidden, the API server's message kept as the reason, and a slow retry after the first few so a
   * refused kind never becomes a hot loop. The retry resumes where the feed was (watch from the last RV,
   * relist on 410), so access that returns needs nothing else.
   */
  private refused(err: unknown, now: number): number {
    this.refusals++;
    const kubeMessage = err instanceof ScaleAgentError ? (err.details as Partial<KubeApiErrorDetails>).kubeStatus?.message : undefined;
    this.forbiddenReason = kubeMessage || errorMessage(err);
    this.failingSince = undefined;
    const slowMs = this.options.forbiddenRetryMs ?? DEFAULT_FORBIDDEN_RETRY_MS;
    const waitMs =
      this.refusals <= FORBIDDEN_FAST_RETRIES
        ? Math.min(this.backoff.next(now), slowMs)
        : Math.round(slowMs * (1 + FORBIDDEN_RETRY_JITTER * (this.random() * 2 - 1)));
    const first = this.state !== 'forbidden';
    this.setState('forbidden');
    this.nextAttemptAt = now + waitMs;
    const httpStatus = apiErrorStatus(err);
    const fields = { path: this.path, reason: this.forbiddenReason, httpStatus, waitMs };
    const what = httpStatus === HTTP_NOT_FOUND ? 'the API server does not serve this kind (any more)' : 'the API server refuses to list/watch this kind';
    if (first) this.options.logger?.warn(fields, `${what}; retrying slowly`);
    else this.options.logger?.debug(fields, `still: ${what}`);
    return waitMs;
  }

  /** The watch that continues a failed one: from the last RV delivered (event or bookmark), not the one it started at. */
  private rewatch(plan: Extract<Plan, { kind: 'watch' }>): Plan {
    return { kind: 'watch', resourceVersion: this.resourceVersion ?? plan.resourceVersion, resuming: plan.resuming, afterList: false };
  }

  /** A full paged list delivered as a snapshot; returns the watch that follows it. */
  private async list(reason: SnapshotReason, signal: AbortSignal): Promise<Plan> {
    if (this.options.listSemaphore !== undefined) this.setState('queued');
    const release = await this.acquireListSlot(signal);
    this.setState('listing');
    let resourceVersion: string;
    try {
      resourceVersion = await this.restartingOnExpiredContinue(() => this.listOnce(reason, signal));
    } finally {
      release();
    }
    this.relists++;
    this.resourceVersion = resourceVersion;
    this.progressed();
    return { kind: 'watch', resourceVersion, resuming: false, afterList: true };
  }

  /**
   * A quiet list for a sink that takes one (VerificationSink), beside the running watch, read at exactly
   * the resourceVersion the sink names: it takes a list slot and the page gate like a relist, restarts if
   * its continue token expires, and hands its objects to onVerification* only. Resolves with the list's resourceVersion; rejects if the list fails or the
   * reflector stops. The reflector's state and freshness are untouched.
   */
  async verify(): Promise<string> {
    const sink = this.sink;
    if (!isVerificationSink(sink)) throw new Error(`the sink of ${this.path} takes no verification list`);
    const controller = new AbortController();
    this.verifications.add(controller);
    try {
      const release = await this.acquireListSlot(controller.signal);
      try {
        const resourceVersion = await this.restartingOnExpiredContinue(() => {
          // Before the request, not at its first page: the watch's changes from here on may be newer than the list.
          const at = sink.onVerificationBegin();
          const exact = at === '' ? undefined : { resourceVersion: at, resourceVersionMatch: 'Exact' };
          return this.readList(
            { begin: noop, object: (obj) => sink.onVerificationObject(obj), ...(exact ? { firstPageQuery: exact } : {}) },
            controller.signal,
          );
        });
        sink.onVerificationEnd(resourceVersion);
        return resourceVersion;
      } finally {
        release();
      }
    } finally {
      this.verifications.delete(controller);
    }
  }

  private async restartingOnExpiredContinue(list: () => Promise<string>): Promise<string> {
    for (let restarts = 0; ; restarts++) {
      try {
        return await list();
      } catch (err) {
        if (!(err instanceof ContinueExpired)) throw err;
        if (restarts >= LIST_CONTINUE_RESTART_LIMIT) throw err.cause;
        this.options.logger?.info({ path: this.path }, 'continue token expired mid-list; restarting the list');
      }
    }
  }

  private async listOnce(reason: SnapshotReason, signal: AbortSignal): Promise<string> {
    const resourceVersion = await this.readList(
      {
        begin: () => this.sink.onSnapshotBegin(reason),
        object: (obj) => this.sink.onSnapshotObject(obj),
        page: (page, first) => {
          this.lastListPageAt = this.now();
          this.options.onListPage?.(listPageInfo(page, first));
        },
      },
      signal,
    );
    this.sink.onSnapshotEnd(resourceVersion);
    return resourceVersion;
  }

  /** Pages through the collection: `begin` once the first page is in hand (a list that fails at once begins nothing), `page` per page, `object` per object. */
  private async readList(
    to: { begin: () => void; object: (obj: KubeObject) => void; page?: (page: KubeList, first: boolean) => void; firstPageQuery?: Record<string, QueryValue> },
    signal: AbortSignal,
  ): Promise<string> {
    const transform = this.options.transform;
    let began = false;
    let resourceVersion = '';
    const pages = listPages(this.client, this.path, {
      pageSize: this.options.pageSize ?? DEFAULT_PAGE_SIZE,
      query: this.selectors,
      ...(to.firstPageQuery ? { firstPageQuery: to.firstPageQuery } : {}),
      ...(this.decodePage ? { decode: this.decodePage } : {}),
      signal,
      timeoutMs: LIST_PAGE_TIMEOUT_MS,
    });
    const gate = this.options.pageGate;
    for (;;) {
      let next: IteratorResult<KubeList>;
      if (gate !== undefined) await gate(signal);
      try {
        next = await pages.next();
      } catch (err) {
        if (began && isExpiredError(err)) throw new ContinueExpired('continue token expired', { cause: err });
        throw err;
      }
      if (next.done) break;
      const page = next.value;
      to.page?.(page, !began);
      if (!began) {
        to.begin();
        began = true;
      }
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      const items = page.items ?? [];
      for (let i = 0; i < items.length; i++) {
        let obj = items[i];
        // Drop the page's reference as soon as the sink has the object: the page is not retained.
        items[i] = undefined;
        if (obj === undefined || obj === null || typeof obj !== 'object') continue;
        // A SlimItem is slimmed already, with the list's kind and apiVersion where it had none.
        if (!(obj instanceof SlimItem)) {
          obj.kind ??= this.resource.kind;
          obj.apiVersion ??= this.apiVersion;
          if (transform !== undefined) obj = transform(obj);
        }
        to.object(obj);
      }
    }
    return resourceVersion;
  }

  private async acquireListSlot(signal: AbortSignal): Promise<() => void> {
    const semaphore = this.options.listSemaphore;
    if (semaphore === undefined) return noop;
    const acquiring = semaphore.acquire();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      acquiring.then(
        (release) => {
          signal.removeEventListener('abort', onAbort);
          // Aborted while waiting: hand the slot straight back.
          if (signal.aborted) release();
          else resolve(release);
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  }

  /** One watch from `plan.resourceVersion`; returns the next plan when it ends cleanly. */
  private async watch(plan: Extract<Plan, { kind: 'watch' }>, signal: AbortSignal): Promise<Plan> {
    this.setState('watching');
    if (!plan.afterList) this.watchRestarts++;
    const min = this.options.watchTimeoutMinSeconds ?? DEFAULT_WATCH_TIMEOUT_MIN_SECONDS;
    const max = Math.max(min, this.options.watchTimeoutMaxSeconds ?? DEFAULT_WATCH_TIMEOUT_MAX_SECONDS);
    const timeoutSeconds = min + Math.floor(this.random() * (max - min + 1));
    const query: Record<string, QueryValue> = { ...this.selectors, resourceVersion: plan.resourceVersion, allowWatchBookmarks: true, timeoutSeconds };
    const startedAt = this.now();
    let delivered = 0;
    const onOpen = (): void => {
      // Accepted: a sign of life, but not the end of a failure streak (a watch that opens and then fails
      // every time is still failing).
      const now = this.now();
      this.lastProgressAt = now;
      this.watchOpenUntil = now + timeoutSeconds * MS_PER_SECOND + WATCH_DEADLINE_GRACE_MS;
    };
    try {
      await this.consumeWatch(plan, query, signal, onOpen, () => delivered++);
    } finally {
      this.watchOpenUntil = undefined;
    }
    if (delivered === 0 && this.now() - startedAt < MIN_HEALTHY_WATCH_MS) {
      throw new ScaleAgentError(Errors.KUBE_TRANSPORT_ERROR, `watch ${this.path} closed at once with no events`, { reason: 'VeryShortWatch' });
    }
    // The server ended the watch cleanly (its timeoutSeconds): the feed was live all along.
    this.progressed();
    return { kind: 'watch', resourceVersion: this.resourceVersion ?? plan.resourceVersion, resuming: false, afterList: false };
  }

  private async consumeWatch(
    plan: Extract<Plan, { kind: 'watch' }>,
    query: Record<string, QueryValue>,
    signal: AbortSignal,
    onOpen: () => void,
    onDelivered: () => void,
  ): Promise<void> {
    const transform = this.options.transform;
    const options: WatchOptions = { idleTimeoutMs: this.options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS, onOpen };
    if (this.decodeWatchLine !== undefined) options.decodeLine = this.decodeWatchLine;
    await this.client.watchEvents(this.path, query, signal, options, (event) => {
      const obj = event.object;
      switch (event.type) {
        case 'ADDED':
        case 'MODIFIED':
        case 'DELETED': {
          let rv: string | undefined;
          if (obj instanceof SlimItem) {
            // Slimmed from its bytes already, with the resource's kind and apiVersion where it had none.
            rv = obj.resourceVersion;
            this.sink.onEvent(event.type, obj);
          } else {
            obj.kind ??= this.resource.kind;
            obj.apiVersion ??= this.apiVersion;
            rv = obj.metadata?.resourceVersion;
            this.sink.onEvent(event.type, transform === undefined ? obj : transform(obj));
          }
          if (rv !== undefined && rv !== '') this.resourceVersion = rv;
          this.progressed();
          this.lastEventAt = this.lastProgressAt;
          break;
        }
        case 'BOOKMARK': {
          const rv = obj.metadata?.resourceVersion;
          if (rv !== undefined && rv !== '') {
            this.resourceVersion = rv;
            this.sink.onProgress(rv);
          }
          this.progressed();
          break;
        }
        case 'ERROR': {
          const code = typeof obj.code === 'number' ? obj.code : 500;
          throw kubeApiError(code, obj, { method: 'WATCH', path: this.path });
        }
      }
      onDelivered();
      // The server accepted the resourceVersion we resumed from: a later 410 is an ordinary expiry.
      plan.resuming = false;
    });
  }
}

function noop(): void {}
