import { create, fromBinary } from '@bufbuild/protobuf';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { Backoff, type BackoffOptions } from '../../common/backoff.ts';
import type { Logger } from '../../common/logger.ts';
import { Errors, errorMessage, isScaleAgentError, type ErrorCode } from '../../common/errors.ts';
import { ulid } from '../../common/ids.ts';
import {
  AccountAcceptanceSchema,
  AgentMessageSchema,
  checkMessageBudget,
  HubMessageSchema,
  MAX_ACCOUNTS_PER_HELLO,
  SESSION_MESSAGE_MAX_ELEMENTS,
  type MessageBudget,
  type AccountAcceptance,
  type AccountInfo,
  type AgentMessage,
  type Hello,
  type HubMessage,
} from '../../protocol/index.ts';
import { MIN_PROTOCOL_VERSION, negotiatedProtocolVersion, PROTOCOL_VERSION } from '../../protocol/version.ts';
import type { CachingHost, CachingLeases, CachingSessionRef } from '../replicas/caching-leases.ts';
import { clampText } from '../store/rows.ts';
import { UNREACHABLE_REASON_MAX_LENGTH, type AccountStore, type IngestStore } from '../store/types.ts';
import { AgentSession } from './agent-session.ts';
import { authenticateCall, type AgentIdentity, type IdentityAuthorizer } from './identities.ts';
import type { SessionRegistry } from './session-registry.ts';
import type { SessionLifecycle } from './definition-push.ts';
import { accountRecordFromInfo, toResumePoint } from './conversions.ts';

export interface SessionHandlerOptions {
  hubId: string;
  /** Registers the agent's accounts and follows their sessions; caching sessions get their resume points. */
  store: AccountStore & Pick<IngestStore, 'resumePoints'>;
  registry: SessionRegistry;
  logger: Logger;
  pingIntervalMs: number;
  /** Missed pings after which a silent session is considered dead and closed. */
  missedPingsBeforeDead: number;
  limits: { maxBatchBytes: number; maxBatchChanges: number; maxObjectBytes: number; maxUnackedBatches: number };
  /** Who the agent is (client certificate, bearer token) and which accounts it may register. */
  authorizer: IdentityAuthorizer;
  /** How a store call that must happen after a session changed (a handover, a disconnect) is retried; STORE_RETRY by default. */
  storeRetry?: BackoffOptions;
  /**
   * Caching ownership across hub replicas: a session the registry would make an account's cacher caches
   * only once the database grants it the account's lease. Without it (tests of a lone replica) the
   * registry alone decides.
   */
  leases?: CachingLeases;
  /** Told when a session's welcome is sent and when it ends (the push of dynamic account definitions). */
  lifecycle?: SessionLifecycle;
}

const HELLO_TIMEOUT_MS = 10_000;

/**
 * Retries of the store calls that follow a session's end or a handover. The store is down or failing
 * when they fail; until they succeed, a standby replica does not know it caches an account, or an
 * account nobody serves still reads as connected (and is never swept), so they are retried until they
 * succeed or stop mattering, at most every 30 s.
 */
const STORE_RETRY: BackoffOptions = { initialMs: 1_000, maxMs: 30_000, multiplier: 2, jitter: 0.2, resetAfterMs: Number.POSITIVE_INFINITY };

/** The code a session is refused with when registering its accounts failed: the store's own, or INTERNAL_ERROR. */
function registrationFailureCode(err: unknown): ErrorCode {
  if (isScaleAgentError(err, Errors.STORE_UNAVAILABLE.code)) return Errors.STORE_UNAVAILABLE.code;
  if (isScaleAgentError(err, Errors.STORE_ERROR.code)) return Errors.STORE_ERROR.code;
  return Errors.INTERNAL_ERROR.code;
}

/**
 * What decoding one Session message may cost (docs/security.md, "What a peer can cost the hub"). Peers
 * are authenticated before anything they send is decoded; these bound what an authenticated one can
 * make the hub allocate. A hello for a thousand clusters with sixty kinds each is about 62,000 elements
 * (1.9 MiB, ~150 ms to decode on a CI core); at the bound, decoding takes about half a second.
 */
export const SESSION_MESSAGE_BUDGET: MessageBudget = { maxElements: SESSION_MESSAGE_MAX_ELEMENTS, maxRepeated: 50_000 };
/** Accounts one agent may declare in its hello (it declares any more in account updates after the welcome). */
export { MAX_ACCOUNTS_PER_HELLO };

/** The call as the hub serves it: Session messages arrive undecoded (agentHubServerDefinition). */
export type SessionCall = ServerDuplexStream<Buffer, HubMessage>;

function ref(session: AgentSession): CachingSessionRef {
  return { sessionId: session.id, agentId: session.agentId };
}

function hasIdentity(cluster: { apiServerHost: string; caFingerprint: string; kubeSystemUid: string }): boolean {
  return cluster.apiServerHost !== '' || cluster.kubeSystemUid !== '';
}

function sameCluster(a: { apiServerHost: string; caFingerprint: string; kubeSystemUid: string }, b: typeof a): boolean {
  return a.apiServerHost === b.apiServerHost && a.caFingerprint === b.caFingerprint && a.kubeSystemUid === b.kubeSystemUid;
}

/**
 * Serves the Session stream: validates the hello, registers the agent's accounts (refusing a name that
 * belongs to another cluster), answers with a welcome carrying resume points, relays operation results
 * and keeps the session alive with pings. A session silent for too long is closed, which fails its
 * pending operations at once.
 */
export class SessionHandler {
  constructor(private readonly options: SessionHandlerOptions) {}

  handle(call: SessionCall): void {
    const { logger } = this.options;
    const peer = call.getPeer();
    // Credentials come with the call (TLS certificate, bearer token in its headers): a peer without
    // valid ones is refused before anything it sends is decoded.
    const authentication = authenticateCall(this.options.authorizer, call);
    if (!authentication.ok) {
      this.refuse(call, authentication.code, authentication.message);
      return;
    }
    const identity = authentication.identity;
    let session: AgentSession | undefined;
    let processing: Promise<void> = Promise.resolve();
    let watchdog: NodeJS.Timeout | undefined;
    const helloTimer = setTimeout(() => {
      if (!session) this.refuse(call, Errors.PROTOCOL_VIOLATION.code, `no hello within ${HELLO_TIMEOUT_MS} ms`);
    }, HELLO_TIMEOUT_MS);

    const finish = (reason: string) => {
      clearTimeout(helloTimer);
      if (watchdog) clearInterval(watchdog);
      if (session && !session.isClosed) {
        session.close(reason);
        void this.onSessionEnded(session, reason);
      }
    };

    call.on('data', (bytes: Buffer) => {
      if (session) session.lastMessageAt = Date.now();
      processing = processing
        .then(async () => {
          if (call.writableEnded) return;
          let message: AgentMessage;
          try {
            checkMessageBudget(AgentMessageSchema, bytes, SESSION_MESSAGE_BUDGET);
            message = fromBinary(AgentMessageSchema, bytes);
          } catch (err) {
            this.refuse(call, Errors.PROTOCOL_VIOLATION.code, `cannot accept a message of ${bytes.length} bytes: ${errorMessage(err)}`, {
              sessionId: session?.id,
            });
            finish('protocol violation');
            return;
          }
          if (!session) {
            if (message.kind.case !== 'hello') {
              this.refuse(call, Errors.PROTOCOL_VIOLATION.code, `the first message must be a hello, got ${message.kind.case ?? 'nothing'}`);
              return;
            }
            clearTimeout(helloTimer);
            session = await this.onHello(call, message.kind.value, peer, identity);
            if (session) {
              const intervalMs = this.options.pingIntervalMs;
              watchdog = setInterval(() => {
                if (!session) return;
                const silentMs = Date.now() - session.lastMessageAt;
                if (silentMs > intervalMs * this.options.missedPingsBeforeDead) {
                  logger.warn({ agentId: session.agentId, sessionId: session.id, silentMs }, 'agent session silent for too long; closing it');
                  finish(`no message for ${silentMs} ms`);
                  call.end();
                } else {
                  session.send(create(HubMessageSchema, { kind: { case: 'ping', value: { nonce: 0n, sentUnixMs: BigInt(Date.now()) } } }));
                }
              }, intervalMs);
              watchdog.unref();
            }
            return;
          }
          await this.onMessage(session, message);
        })
        .catch((err) => {
          // Registering accounts (an account update) gets here when the store fails: some may then be
          // attached to the session without the agent knowing. Ending the session leaves nothing half
          // done: the agent reconnects after its backoff and declares all its accounts again.
          logger.error({ err: errorMessage(err), sessionId: session?.id }, 'failed to process an agent message; ending the session');
          if (!call.writableEnded)
            this.refuse(call, registrationFailureCode(err), `the hub failed to process a message: ${errorMessage(err)}`, { sessionId: session?.id });
          finish(`failed to process a message: ${errorMessage(err)}`);
        });
    });
    call.on('error', (err) => finish(`stream error: ${errorMessage(err)}`));
    // The agent half-closed: answer what it sent before, then close; a stream that never said hello is told so.
    call.on('end', () => {
      processing = processing
        .then(() => {
          if (!session && !call.writableEnded) this.refuse(call, Errors.PROTOCOL_VIOLATION.code, 'the stream ended before a hello');
          finish('agent closed the session');
          if (!call.writableEnded) call.end();
        })
        .catch((err) => logger.error({ err: errorMessage(err), sessionId: session?.id }, 'failed to close an agent session'));
    });
    call.on('cancelled', () => finish('session cancelled'));
  }

  private refuse(call: SessionCall, code: ErrorCode, message: string, details: Record<string, unknown> = {}): void {
    this.options.logger.warn({ code, peer: call.getPeer(), ...details }, `refusing agent session: ${message}`);
    call.write(create(HubMessageSchema, { kind: { case: 'refusal', value: { code, message } } }));
    call.end();
  }

  private async onHello(call: SessionCall, hello: Hello, peer: string, identity: AgentIdentity): Promise<AgentSession | undefined> {
    const { logger, registry } = this.options;
    if (hello.accounts.length > MAX_ACCOUNTS_PER_HELLO) {
      this.refuse(
        call,
        Errors.PROTOCOL_VIOLATION.code,
        `the hello declares ${hello.accounts.length} accounts; one agent may declare at most ${MAX_ACCOUNTS_PER_HELLO}`,
        { agentId: hello.agentId },
      );
      return undefined;
    }
    const protocolVersion = negotiatedProtocolVersion(hello.protocolVersion);
    if (protocolVersion === undefined) {
      this.refuse(
        call,
        Errors.PROTOCOL_VERSION_UNSUPPORTED.code,
        `this hub speaks protocol versions ${MIN_PROTOCOL_VERSION} to ${PROTOCOL_VERSION}, the agent speaks ${hello.protocolVersion}`,
      );
      return undefined;
    }
    if (hello.agentId.trim() === '') {
      this.refuse(call, Errors.PROTOCOL_VIOLATION.code, 'the hello has no agent id');
      return undefined;
    }
    const session = new AgentSession(ulid(), hello.agentId, hello.agentVersion, peer, call);
    session.identity = identity;
    session.zoneId = hello.zoneId;
    session.dynamicAccounts = hello.dynamicAccounts;
    session.protocolVersion = protocolVersion;
    registry.add(session);
    let acceptances: AccountAcceptance[];
    try {
      acceptances = await this.acceptAccounts(session, hello.accounts);
    } catch (err) {
      // The accounts attached before the failure would stay with a session that never starts (caching
      // them, so that no other replica could): undo the session as if it had ended, and refuse it, so
      // that the agent tries again after its backoff.
      this.refuse(call, registrationFailureCode(err), `cannot register the agent's accounts: ${errorMessage(err)}`, {
        agentId: hello.agentId,
        sessionId: session.id,
      });
      session.close('registering its accounts failed');
      void this.onSessionEnded(session, 'registering its accounts failed');
      return undefined;
    }
    session.send(
      create(HubMessageSchema, {
        kind: {
          case: 'welcome',
          value: {
            sessionId: session.id,
            hubId: this.options.hubId,
            protocolVersion,
            accounts: acceptances,
            pingIntervalMs: this.options.pingIntervalMs,
            limits: this.options.limits,
          },
        },
      }),
    );
    this.options.lifecycle?.sessionStarted(session);
    const accepted = acceptances.filter((a) => a.accepted).map((a) => a.account);
    const refused = acceptances.filter((a) => !a.accepted).map((a) => `${a.account} (${a.refusalCode})`);
    logger.info(
      {
        agentId: hello.agentId,
        sessionId: session.id,
        peer,
        identities: identity.names,
        certificate: identity.certificate,
        token: identity.token,
        protocolVersion,
        accepted,
        refused,
      },
      `agent connected with ${accepted.length} account(s)`,
    );
    return session;
  }

  private async acceptAccounts(session: AgentSession, accounts: AccountInfo[]): Promise<AccountAcceptance[]> {
    const { store, registry, hubId, logger } = this.options;
    const now = Date.now();
    const out: AccountAcceptance[] = [];
    const seen = new Set<string>();
    for (const info of accounts) {
      const name = info.name.trim();
      if (name === '' || seen.has(name)) {
        out.push(
          create(AccountAcceptanceSchema, {
            account: info.name,
            accepted: false,
            refusalCode: Errors.ACCOUNT_INVALID.code,
            refusalMessage: name === '' ? 'the account has no name' : `account ${name} is declared twice`,
          }),
        );
        continue;
      }
      seen.add(name);
      // The identity's allowance comes before ownership: an agent not allowed the name learns nothing about its holder.
      const identity = session.identity;
      if (identity !== undefined && !this.options.authorizer.allows(identity, name)) {
        const allowed = this.options.authorizer.allowance(identity);
        const message =
          identity.names.length === 0
            ? `account ${name} is not allowed: the agent matches no identity`
            : `account ${name} is not allowed for identity ${identity.names.join(', ')} (allowed: ${allowed.join(', ')})`;
        logger.warn(
          { account: name, agentId: session.agentId, identities: identity.names, code: Errors.ACCOUNT_NOT_ALLOWED_FOR_IDENTITY.code },
          `refusing account: ${message}`,
        );
        out.push(
          create(AccountAcceptanceSchema, {
            account: name,
            accepted: false,
            refusalCode: Errors.ACCOUNT_NOT_ALLOWED_FOR_IDENTITY.code,
            refusalMessage: message,
          }),
        );
        continue;
      }
      if (info.unreachableReason !== '') {
        out.push(await this.acceptUnreachable(session, name, info, now));
        continue;
      }
      session.unreachable.delete(name);
      const record = accountRecordFromInfo(info);
      const existing = await store.getAccount(name);
      // A registration made while the cluster was unreachable names no cluster yet: the first agent to reach one sets it.
      if (existing && hasIdentity(existing.cluster) && !sameCluster(existing.cluster, record.cluster)) {
        const message = `account ${name} is registered for cluster ${existing.cluster.apiServerHost} (kube-system ${existing.cluster.kubeSystemUid}); this agent offers ${record.cluster.apiServerHost} (kube-system ${record.cluster.kubeSystemUid})`;
        logger.warn({ account: name, agentId: session.agentId, code: Errors.ACCOUNT_OWNED_BY_OTHER_CLUSTER.code }, `refusing account: ${message}`);
        out.push(
          create(AccountAcceptanceSchema, { account: name, accepted: false, refusalCode: Errors.ACCOUNT_OWNED_BY_OTHER_CLUSTER.code, refusalMessage: message }),
        );
        continue;
      }
      let caching = registry.attach(session, name);
      if (caching) caching = await this.claimCaching(name, session);
      // The row names the session that caches the account (on any replica): a standby's hello refreshes the
      // account's facts but leaves the holder's agent and replica in place.
      const holder = caching || !existing?.agentId ? { agentId: session.agentId, hubId } : { agentId: existing.agentId, hubId: existing.hubId };
      await store.upsertAccount({ ...record, ...holder, status: 'connected' }, now);
      const resume = caching ? (await store.resumePoints(name)).map(toResumePoint) : [];
      out.push(create(AccountAcceptanceSchema, { account: name, accepted: true, caching, resume }));
    }
    for (const a of out) {
      if (a.accepted) session.refused.delete(a.account);
      else session.refused.set(a.account, { code: a.refusalCode, message: a.refusalMessage });
    }
    return out;
  }

  /**
   * An account the agent is configured for but cannot serve (issue: "an account the agent is configured
   * for is registered, as unreachable, and kept, whatever its cluster's state"). It is recorded as
   * connected with the reason, so the grace-period sweep keeps it and its cache, and reads and
   * operations say why it is stale; it never caches nor runs operations here. A session that can serve
   * it (here or at another replica) keeps the row as it is.
   */
  private async acceptUnreachable(session: AgentSession, name: string, info: AccountInfo, now: number): Promise<AccountAcceptance> {
    const { store, registry, hubId, leases, logger } = this.options;
    if (session.accounts.has(name)) {
      const next = registry.detach(session, name);
      await leases?.release(name, session.id);
      if (next) void this.passCaching(name, next);
    }
    session.unreachable.set(name, info);
    // Cut as the store cuts it: an agent's megabyte-long reason is neither stored nor logged whole.
    const reason = clampText(info.unreachableReason, UNREACHABLE_REASON_MAX_LENGTH);
    const servedElsewhere = registry.isServed(name) || (leases !== undefined && (await leases.heldElsewhere(name)));
    if (!servedElsewhere) {
      const existing = await store.getAccount(name);
      const record = accountRecordFromInfo(info);
      await store.upsertAccount(
        {
          ...record,
          // What is known of the cluster from when it was reachable stays: only the agent that reaches it may change it.
          ...(existing ? { cluster: existing.cluster, kubernetesVersion: existing.kubernetesVersion, kinds: existing.kinds } : {}),
          agentId: session.agentId,
          hubId,
          status: 'connected',
          unreachableReason: reason,
        },
        now,
      );
    }
    logger.warn({ account: name, agentId: session.agentId, reason }, "the agent cannot reach the account's cluster");
    return create(AccountAcceptanceSchema, { account: name, accepted: true, caching: false });
  }

  private async onMessage(session: AgentSession, message: AgentMessage): Promise<void> {
    switch (message.kind.case) {
      case 'ping':
        session.send(
          create(HubMessageSchema, { kind: { case: 'pong', value: { nonce: message.kind.value.nonce, sentUnixMs: message.kind.value.sentUnixMs } } }),
        );
        return;
      case 'pong':
        return;
      case 'operationResult':
        if (!session.completeOperation(message.kind.value)) {
          this.options.logger.warn(
            { operationId: message.kind.value.id, agentId: session.agentId },
            'result for an operation nobody waits for (late or unknown)',
          );
        }
        return;
      case 'accountUpdate': {
        const update = message.kind.value;
        const acceptances = await this.acceptAccounts(session, update.upserted);
        for (const name of update.removed) {
          session.unreachable.delete(name);
          session.refused.delete(name);
          const next = this.options.registry.detach(session, name);
          await this.options.leases?.release(name, session.id);
          if (next) void this.passCaching(name, next);
          else if (!this.options.registry.isServed(name)) await this.markDisconnected(name, null, Date.now());
        }
        session.send(create(HubMessageSchema, { kind: { case: 'accountUpdateReply', value: { accounts: acceptances } } }));
        return;
      }
      case 'hello':
        this.options.logger.warn({ sessionId: session.id }, 'ignoring a second hello on an established session');
        return;
      default:
        return;
    }
  }

  /**
   * Whether `session`, which the registry just made the account's caching session, may cache it: the
   * database must grant it the account's lease (another replica's session may hold it). Refused, the
   * session stands by: the registry no longer names it, and a takeover claims the account for it once
   * the holder releases it or stops renewing it. Rejects when the database does.
   */
  private async claimCaching(account: string, session: AgentSession): Promise<boolean> {
    const { leases, registry, logger } = this.options;
    if (leases === undefined) return true;
    const claim = await leases.claim(account, ref(session)).catch((err: unknown) => {
      registry.release(account, session);
      throw err;
    });
    if (claim.granted) {
      if (registry.cachingSession(account) === session) return true;
      // The registry moved on while the database answered (the session ended, a takeover picked another): give it back.
      await leases.release(account, session.id);
      return false;
    }
    registry.release(account, session);
    logger.info(
      {
        account,
        agentId: session.agentId,
        sessionId: session.id,
        holder: { hubId: claim.holder.hubId, agentId: claim.holder.agentId, epoch: claim.holder.epoch },
      },
      'another session caches the account; this one stands by',
    );
    return false;
  }

  /**
   * Moves caching of an account to `to`, which the registry just named (its former cacher left): with
   * leases it claims the account first and stands by when refused. Never rejects: a claim the database
   * fails is retried by the next takeover pass.
   */
  private async passCaching(account: string, to: AgentSession): Promise<void> {
    try {
      if (!(await this.claimCaching(account, to))) return;
    } catch (err) {
      this.options.logger.warn(
        { account, agentId: to.agentId, sessionId: to.id, err: errorMessage(err) },
        'cannot claim caching of an account for a standby; the next takeover pass tries again',
      );
      return;
    }
    await this.handOver(account, to);
  }

  /** What the caching leases (replicas/caching-leases.ts) ask of this replica's sessions. */
  cachingHost(): CachingHost {
    const { registry } = this.options;
    return {
      standbys: () => registry.standbys().map(({ account, session }) => ({ account, session: ref(session) })),
      takeOver: (account, session) => {
        const to = registry.get(session.sessionId);
        if (to === undefined || !registry.assign(account, to)) return false;
        void this.markCaching(account, to);
        void this.handOver(account, to);
        return true;
      },
      lose: (account, sessionId, reason) => this.loseCaching(account, sessionId, reason),
    };
  }

  /**
   * The session no longer caches the account (another replica's session holds it now): the registry
   * forgets it as the cacher and its agent is told to stop caching (an account update reply with
   * caching false), which also ends its sync stream. It stays a standby.
   */
  private loseCaching(account: string, sessionId: string, reason: string): void {
    const { registry, logger } = this.options;
    const session = registry.get(sessionId);
    if (session === undefined || registry.cachingSession(account) !== session) return;
    registry.release(account, session);
    session.send(
      create(HubMessageSchema, {
        kind: { case: 'accountUpdateReply', value: { accounts: [create(AccountAcceptanceSchema, { account, accepted: true, caching: false })] } },
      }),
    );
    logger.warn({ account, agentId: session.agentId, sessionId, reason }, 'the session no longer caches the account; told its agent to stop');
  }

  /**
   * After a takeover the account's row names the new cacher and says connected (the former replica may
   * have marked it disconnected as its session ended). One attempt: the account sweep also spares an
   * account whose lease is live.
   */
  private async markCaching(account: string, to: AgentSession): Promise<void> {
    try {
      await this.options.store.setAccountStatus(account, 'connected', to.agentId, this.options.hubId, Date.now());
    } catch (err) {
      this.options.logger.warn({ account, agentId: to.agentId, err: errorMessage(err) }, 'cannot record the account as connected after a takeover');
    }
  }

  /**
   * Tells a standby agent replica that it now caches an account, with the account's resume points.
   * Never rejects. The registry already names the standby as the account's caching session, so should
   * the store fail, the reading is retried (with backoff) rather than dropped: otherwise no replica
   * would cache the account until the standby reconnected. Closing the standby instead would drop
   * every other account it serves, and its new hello would need the same store. The retries stop once
   * the standby is gone or no longer caches the account.
   */
  private async handOver(account: string, to: AgentSession, backoff = new Backoff(this.options.storeRetry ?? STORE_RETRY)): Promise<void> {
    const { store, registry, logger } = this.options;
    if (registry.cachingSession(account) !== to) return;
    try {
      const points = await store.resumePoints(account);
      if (registry.cachingSession(account) !== to) return;
      to.send(
        create(HubMessageSchema, {
          kind: {
            case: 'accountUpdateReply',
            value: { accounts: [create(AccountAcceptanceSchema, { account, accepted: true, caching: true, resume: points.map(toResumePoint) })] },
          },
        }),
      );
      logger.info({ account, agentId: to.agentId }, 'caching handed over to another agent replica');
    } catch (err) {
      const retryInMs = backoff.next();
      logger.error(
        { account, agentId: to.agentId, sessionId: to.id, err: errorMessage(err), retryInMs },
        'cannot hand caching of an account over to another agent replica; retrying',
      );
      setTimeout(() => void this.handOver(account, to, backoff), retryInMs).unref();
    }
  }

  /**
   * Records that no session serves an account any more (it is swept after the grace period). Never
   * rejects: should the store fail, the write is retried (with backoff, and with the time the account
   * was last served) until it succeeds or a session serves the account again (which made it connected).
   */
  private async markDisconnected(
    account: string,
    agentId: string | null,
    lastServedAt: number,
    backoff = new Backoff(this.options.storeRetry ?? STORE_RETRY),
  ): Promise<void> {
    const { store, registry, logger, leases } = this.options;
    if (registry.isServed(account)) return;
    try {
      // Another replica's session caches it: it is served, just not here.
      if (leases !== undefined && (await leases.heldElsewhere(account))) return;
      await store.setAccountStatus(account, 'disconnected', agentId, null, lastServedAt);
    } catch (err) {
      const retryInMs = backoff.next();
      logger.error({ account, agentId, err: errorMessage(err), retryInMs }, 'cannot mark an account disconnected; retrying');
      setTimeout(() => void this.markDisconnected(account, agentId, lastServedAt, backoff), retryInMs).unref();
    }
  }

  /**
   * Moves caching of the session's accounts to standby replicas and marks the accounts nobody serves
   * any more. Never rejects (handOver and markDisconnected do not).
   */
  private async onSessionEnded(session: AgentSession, reason: string): Promise<void> {
    const { registry, logger, leases } = this.options;
    const { handovers, orphaned } = registry.remove(session);
    this.options.lifecycle?.sessionEnded(session);
    for (const account of session.unreachable.keys()) if (!registry.isServed(account) && !orphaned.includes(account)) orphaned.push(account);
    // Its leases first: a standby's claim, here or at another replica, is granted only once they are given back.
    await leases?.releaseSession(session.id);
    for (const { account, to } of handovers) void this.passCaching(account, to);
    const now = Date.now();
    await Promise.all(orphaned.map((account) => this.orphaned(account, session, now)));
    logger.info({ agentId: session.agentId, sessionId: session.id, reason, orphaned }, 'agent session ended');
  }

  /**
   * An account the ended session served, which no session serves now: recorded again as unreachable
   * for a session of this replica whose agent declared it so (it is configured for the account, so the
   * account is kept), otherwise marked disconnected. Never rejects.
   */
  private async orphaned(account: string, ended: AgentSession, now: number): Promise<void> {
    const other = this.options.registry.all().find((s) => s !== ended && !s.isClosed && s.unreachable.has(account));
    const declaration = other?.unreachable.get(account);
    if (other !== undefined && declaration !== undefined) {
      try {
        await this.acceptUnreachable(other, account, declaration, now);
        return;
      } catch (err) {
        this.options.logger.error(
          { account, agentId: other.agentId, err: errorMessage(err) },
          'cannot record an account as unreachable; marking it disconnected',
        );
      }
    }
    await this.markDisconnected(account, ended.agentId, now);
  }
}
