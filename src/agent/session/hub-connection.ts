import { create, toBinary } from '@bufbuild/protobuf';
import type { Client, ClientDuplexStream, Metadata } from '@grpc/grpc-js';
import { Backoff } from '../../common/backoff.ts';
import { Errors, errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import {
  AgentHubClient,
  AgentMessageSchema,
  DEFAULT_LIMITS,
  GRPC_MAX_MESSAGE_BYTES,
  MAX_OPERATION_MESSAGE_BYTES,
  OperationResultSchema,
  preEncoded,
  MIN_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  SCALE_AGENT_VERSION,
  type ProtocolVersion,
  type SharedSyncRequest,
  type SharedSyncResponse,
  type AccountAcceptance,
  type AccountDefinition,
  type AccountInfo,
  type AgentMessage,
  type HubMessage,
  type Operation,
  type OperationResult,
  type SyncRequest,
  type SyncResponse,
  type Welcome,
} from '../../protocol/index.ts';
import type { SyncChannelCall } from '../sync/sync-stream.ts';
import { declarationChunks } from './declaration-chunks.ts';
import { DEFAULT_SYNC_COALESCE_MS } from '../config.ts';
import { SharedSync } from './shared-sync.ts';
import { plaintextHint, type HubTransport } from './hub-transport.ts';

const BYTES_PER_MIB = 1024 * 1024;

/** Missed pings (no message at all from the hub) after which the session is considered stalled. */
export const MISSED_PINGS_BEFORE_RECONNECT = 3;
/** The shortest wait for a welcome after the hello before the session is replaced. */
const WELCOME_TIMEOUT_FLOOR_MS = 15_000;
/** Health reset: a session that lived this long resets the reconnect backoff. */
const HEALTHY_SESSION_MS = 60_000;

export interface HubConnectionOptions {
  agentId: string;
  address: string;
  pingIntervalMs: number;
  /**
   * A session that hears nothing from the hub this long is replaced (checked at each ping); default
   * MISSED_PINGS_BEFORE_RECONNECT ping intervals. Armory's clouddriver.keepAliveTimeOutSeconds.
   */
  silenceTimeoutMs?: number;
  backoff: { initialMs: number; maxMs: number; multiplier: number; jitter: number };
  logger: Logger;
  /** Channel credentials (plaintext, TLS, mTLS) and the bearer token; see hub-transport.ts. */
  transport: HubTransport;
  /** The accounts to declare in the hello (those ready now). */
  accounts: () => AccountInfo[];
  /**
   * The hub answered a hello (`welcome`) or an account update, or handed an account over (`update`):
   * start or stop caching, open sync streams.
   */
  onAcceptances: (session: ConnectedSession, acceptances: AccountAcceptance[], origin: 'welcome' | 'update') => void;
  onOperation: (operation: Operation) => Promise<OperationResult>;
  /** The agent's zone, sent in the hello (dynamic accounts pinned to a zone go to its agents). */
  zoneId?: string;
  /**
   * The complete set of dynamic account definitions the hub assigns to this agent. Present: the hello
   * says the agent takes them (dynamicAccountsEnabled); absent: the hub sends none.
   */
  onAccountDefinitions?: (definitions: AccountDefinition[]) => void;
  /** The session ended (all its sync streams must be closed). */
  onDisconnected: (reason: string) => void;
  /**
   * The highest protocol version to offer in the hello (clouddriver.protocolVersion); default
   * PROTOCOL_VERSION. A hub that no longer speaks it answers with the version the session speaks.
   */
  protocolVersion?: ProtocolVersion;
  /** Version 2: how long a sync request may wait for others to share its message (clouddriver.syncCoalesceMs). */
  syncCoalesceMs?: number;
}

/** Where the agent's session with the hub is: dialling or awaiting the welcome, up, waiting to redial, stopped. */
export type SessionState = 'connecting' | 'connected' | 'backoff' | 'stopped';
export const SESSION_STATES: readonly SessionState[] = ['connecting', 'connected', 'backoff', 'stopped'];

/** What the rest of the agent may use while a session is up. */
export interface ConnectedSession {
  readonly sessionId: string;
  readonly limits: { maxBatchBytes: number; maxBatchChanges: number; maxObjectBytes: number; maxUnackedBatches: number };
  /** The protocol version the hub chose in its welcome (2: every account's channel on one SharedSync stream). */
  readonly protocolVersion: number;
  openSync(): SyncChannelCall;
  sendAccountUpdate(upserted: AccountInfo[], removed: string[]): void;
}

/**
 * The agent's one connection to the hub: dials out, says hello, keeps the session alive with pings,
 * runs the operations the hub sends, and reconnects with backoff whenever the session ends or stalls.
 * Every account's Sync stream rides on the same HTTP/2 connection.
 */
export class HubConnection {
  private client: Client | undefined;
  /** The TLS files the current client was built from; a change builds a new client (a new connection). */
  private clientDigest: string | undefined;
  /** Why the current call is being ended (a refusal, no welcome), kept as the reason it ended. */
  private endReason: string | undefined;
  private call: ClientDuplexStream<AgentMessage, HubMessage> | undefined;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private lastMessageAt = 0;
  private connectedAt = 0;
  private readonly backoff: Backoff;
  private session: ConnectedSession | undefined;
  /** Version 2: the current session's SharedSync stream, closed with the session. */
  private sharedSync: SharedSync | undefined;
  /** The version the next hello offers: lowered once when a hub refuses it as too new. */
  private offeredVersion: ProtocolVersion;
  private nonce = 0n;
  /** The accounts the current session's hello declared. */
  private declaredInHello: ReadonlySet<string> = new Set();
  state: SessionState = 'connecting';
  lastError: string | undefined;
  connects = 0;
  /** Redials: after a session ended, or an attempt failed before its welcome. */
  reconnects = 0;

  constructor(private readonly options: HubConnectionOptions) {
    this.backoff = new Backoff({ ...options.backoff, resetAfterMs: HEALTHY_SESSION_MS });
    this.offeredVersion = options.protocolVersion ?? PROTOCOL_VERSION;
  }

  start(): void {
    this.ensureClient();
    this.connect();
  }

  /**
   * Builds the gRPC client, or a new one when the certificate, key or CA files changed since the last
   * one was built: rotated credentials take effect on the next connection (an established connection
   * keeps the certificate it was opened with).
   */
  private ensureClient(): void {
    const setup = this.options.transport.channel();
    if (this.client && setup.digest === this.clientDigest) return;
    const previous = this.client;
    this.client = new AgentHubClient(this.options.address, setup.credentials, {
      'grpc.max_receive_message_length': GRPC_MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': GRPC_MAX_MESSAGE_BYTES,
      'grpc.keepalive_time_ms': this.options.pingIntervalMs,
      'grpc.keepalive_timeout_ms': this.options.pingIntervalMs,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.initial_reconnect_backoff_ms': this.options.backoff.initialMs,
      'grpc.max_reconnect_backoff_ms': this.options.backoff.maxMs,
      // A new client must open its own connection (not share one made with the old credentials).
      'grpc.use_local_subchannel_pool': 1,
      ...setup.options,
    });
    this.clientDigest = setup.digest;
    if (previous) {
      this.options.logger.info({ address: this.options.address }, 'the TLS files for the hub changed; connecting with the new ones');
      previous.close();
    }
  }

  get connected(): ConnectedSession | undefined {
    return this.session;
  }

  /**
   * The protocol version of the current session (none between sessions) and, on version 2, how many
   * SharedSync messages carried how many channel requests: requests ÷ messages is the coalescing.
   */
  protocolSummary(): { protocolVersion?: number; sharedSync?: { messages: number; requests: number } } {
    if (this.session === undefined) return {};
    const shared = this.sharedSync;
    return {
      protocolVersion: this.session.protocolVersion,
      ...(shared !== undefined ? { sharedSync: { messages: shared.messagesSent, requests: shared.requestsSent } } : {}),
    };
  }

  private connect(): void {
    if (this.stopped) return;
    this.state = 'connecting';
    try {
      this.ensureClient();
    } catch (err) {
      // A rotation caught half-way (new certificate, old key) or a file gone: keep the previous client.
      this.options.logger.error({ err: errorMessage(err) }, 'cannot use the TLS files for the hub; connecting with the ones read before');
    }
    this.options.transport
      .metadata()
      .then(
        (metadata) => this.open(metadata),
        (err: unknown) => this.scheduleReconnect(`no credentials for the hub: ${errorMessage(err)}`),
      )
      .catch((err: unknown) => this.openFailed(err));
  }

  /**
   * Opening the call threw (a client closed under it, an account that cannot describe itself): without
   * this the connection would wait for an end that never comes. Drops the call, if any, and reconnects.
   */
  private openFailed(err: unknown): void {
    const reason = `cannot open a session with the hub: ${errorMessage(err)}`;
    this.options.logger.error({ address: this.options.address, err: errorMessage(err) }, 'cannot open a session with the hub');
    const call = this.call;
    this.call = undefined;
    try {
      call?.cancel();
    } catch {
      // Already gone.
    }
    this.scheduleReconnect(reason);
  }

  private open(metadata: Metadata): void {
    if (this.stopped || !this.client) return;
    const client = this.client as Client & { Session(metadata: Metadata): ClientDuplexStream<AgentMessage, HubMessage> };
    const call = client.Session(metadata);
    this.call = call;
    this.endReason = undefined;
    this.lastMessageAt = Date.now();
    // A hub that takes the call but never welcomes the agent is as good as none: give up after the
    // silence that replaces a connected session (three ping intervals), but never sooner than
    // WELCOME_TIMEOUT_FLOOR_MS (a hub registering many accounts takes a moment to answer).
    const welcomeTimeoutMs = Math.max(WELCOME_TIMEOUT_FLOOR_MS, this.options.silenceTimeoutMs ?? this.options.pingIntervalMs * MISSED_PINGS_BEFORE_RECONNECT);
    const welcomeTimer = setTimeout(() => {
      if (this.call !== call || this.session !== undefined) return;
      this.options.logger.warn({ waitedMs: welcomeTimeoutMs }, 'no welcome from the hub; replacing the session');
      this.endReason = `no welcome from the hub within ${welcomeTimeoutMs} ms`;
      call.cancel();
    }, welcomeTimeoutMs);
    welcomeTimer.unref();
    let ended = false;
    const end = (reason: string) => {
      if (ended) return;
      ended = true;
      clearTimeout(welcomeTimer);
      this.onEnded(call, reason);
    };
    call.on('data', (message: HubMessage) => {
      this.lastMessageAt = Date.now();
      this.onMessage(call, message);
    });
    call.on('error', (err: Error) => end(`session error: ${errorMessage(err)}`));
    call.on('end', () => end('hub ended the session'));
    // The hello carries what fits in one message; the rest follows the welcome (declareAfterWelcome).
    const accounts = declarationChunks(this.options.accounts())[0] ?? [];
    this.declaredInHello = new Set(accounts.map((a) => a.name));
    call.write(
      create(AgentMessageSchema, {
        kind: {
          case: 'hello',
          value: {
            agentId: this.options.agentId,
            agentVersion: SCALE_AGENT_VERSION,
            protocolVersion: this.offeredVersion,
            accounts,
            zoneId: this.options.zoneId ?? '',
            dynamicAccounts: this.options.onAccountDefinitions !== undefined,
          },
        },
      }),
    );
    this.options.logger.info({ address: this.options.address, accounts: accounts.length }, `connecting to the hub as ${this.options.agentId}`);
  }

  private onMessage(call: ClientDuplexStream<AgentMessage, HubMessage>, message: HubMessage): void {
    switch (message.kind.case) {
      case 'welcome':
        this.onWelcome(call, message.kind.value);
        return;
      case 'refusal':
        if (message.kind.value.code === Errors.PROTOCOL_VERSION_UNSUPPORTED.code && this.offeredVersion > MIN_PROTOCOL_VERSION) {
          // A hub older than this agent: the next hello offers the previous version.
          this.offeredVersion = (this.offeredVersion - 1) as ProtocolVersion;
          this.options.logger.warn(
            { code: message.kind.value.code },
            `the hub does not speak protocol version ${this.offeredVersion + 1} (${message.kind.value.message}); offering version ${this.offeredVersion}`,
          );
        }
        this.endReason = `the hub refused the session: ${message.kind.value.code}: ${message.kind.value.message}`;
        this.lastError = this.endReason;
        this.options.logger.error({ code: message.kind.value.code }, `the hub refused this agent: ${message.kind.value.message}`);
        return;
      case 'ping':
        this.send(
          create(AgentMessageSchema, { kind: { case: 'pong', value: { nonce: message.kind.value.nonce, sentUnixMs: message.kind.value.sentUnixMs } } }),
        );
        return;
      case 'pong':
        return;
      case 'accountUpdateReply':
        if (this.session) this.options.onAcceptances(this.session, message.kind.value.accounts, 'update');
        return;
      case 'accountDefinitions':
        if (this.session) this.options.onAccountDefinitions?.(message.kind.value.definitions);
        return;
      case 'operation': {
        const operation = message.kind.value;
        void this.options
          .onOperation(operation)
          .then((result) => this.sendResult(result))
          .catch((err) => this.options.logger.error({ operationId: operation.id, err: errorMessage(err) }, 'operation crashed'));
        return;
      }
      default:
        return;
    }
  }

  private onWelcome(call: ClientDuplexStream<AgentMessage, HubMessage>, welcome: Welcome): void {
    const client = this.client as Client & {
      Sync(metadata: Metadata): ClientDuplexStream<SyncRequest, SyncResponse>;
      SharedSync(metadata: Metadata): ClientDuplexStream<SharedSyncRequest, SharedSyncResponse>;
    };
    const limits = {
      maxBatchBytes: welcome.limits?.maxBatchBytes || DEFAULT_LIMITS.maxBatchBytes,
      maxBatchChanges: welcome.limits?.maxBatchChanges || DEFAULT_LIMITS.maxBatchChanges,
      maxObjectBytes: welcome.limits?.maxObjectBytes || DEFAULT_LIMITS.maxObjectBytes,
      maxUnackedBatches: welcome.limits?.maxUnackedBatches || DEFAULT_LIMITS.maxUnackedBatches,
    };
    this.state = 'connected';
    this.connectedAt = Date.now();
    this.connects++;
    this.lastError = undefined;
    // A hub older than protocol version 2 leaves the welcome's version at its own (1); 0 is a hub too old to say.
    const protocolVersion = Math.max(MIN_PROTOCOL_VERSION, Math.min(welcome.protocolVersion, this.offeredVersion));
    this.sharedSync?.close('replaced by a new session');
    const sharedSync =
      protocolVersion >= 2
        ? new SharedSync({
            open: () => client.SharedSync(this.options.transport.currentMetadata()),
            coalesceMs: this.options.syncCoalesceMs ?? DEFAULT_SYNC_COALESCE_MS,
            logger: this.options.logger,
          })
        : undefined;
    this.sharedSync = sharedSync;
    this.session = {
      sessionId: welcome.sessionId,
      limits,
      protocolVersion,
      openSync: () => sharedSync?.openChannel() ?? client.Sync(this.options.transport.currentMetadata()),
      sendAccountUpdate: (upserted, removed) => {
        if (this.call === call) this.send(create(AgentMessageSchema, { kind: { case: 'accountUpdate', value: { upserted, removed } } }));
      },
    };
    const refused = welcome.accounts.filter((a) => !a.accepted);
    for (const a of refused)
      this.options.logger.error({ account: a.account, code: a.refusalCode }, `the hub refused account ${a.account}: ${a.refusalMessage}`);
    this.options.logger.info(
      { sessionId: welcome.sessionId, hubId: welcome.hubId, protocolVersion, accepted: welcome.accounts.length - refused.length, refused: refused.length },
      'connected to the hub',
    );
    this.startPings(call, welcome.pingIntervalMs || this.options.pingIntervalMs);
    this.options.onAcceptances(this.session, welcome.accounts, 'welcome');
    this.declareAfterWelcome(this.session);
  }

  /**
   * Declares what the hello did not: the accounts past what one message may carry, those that became
   * ready or unreachable while the hub answered the hello (no session took their declaration), and the
   * removal of those that stopped meanwhile.
   */
  private declareAfterWelcome(session: ConnectedSession): void {
    const accounts = this.options.accounts();
    const current = new Set(accounts.map((a) => a.name));
    const removed = [...this.declaredInHello].filter((name) => !current.has(name));
    if (removed.length > 0) session.sendAccountUpdate([], removed);
    for (const chunk of declarationChunks(accounts.filter((a) => !this.declaredInHello.has(a.name)))) session.sendAccountUpdate(chunk, []);
  }

  private startPings(call: ClientDuplexStream<AgentMessage, HubMessage>, intervalMs: number): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    const silenceLimitMs = this.options.silenceTimeoutMs ?? intervalMs * MISSED_PINGS_BEFORE_RECONNECT;
    this.pingTimer = setInterval(() => {
      if (this.call !== call) return;
      const silentMs = Date.now() - this.lastMessageAt;
      if (silentMs > silenceLimitMs) {
        this.options.logger.warn({ silentMs }, 'no message from the hub for too long; replacing the session');
        call.cancel();
        return;
      }
      this.send(create(AgentMessageSchema, { kind: { case: 'ping', value: { nonce: ++this.nonce, sentUnixMs: BigInt(Date.now()) } } }));
    }, intervalMs);
    this.pingTimer.unref();
  }

  /**
   * Sends an operation's result, encoded here: one too large for a Session message (a huge list or log)
   * is answered with OPERATION_RESULT_TOO_LARGE instead, since gRPC would end the session over it and
   * with it every account of this agent. What the operation wrote is still reported.
   */
  private sendResult(result: OperationResult): void {
    const encode = (value: OperationResult): Uint8Array =>
      toBinary(AgentMessageSchema, create(AgentMessageSchema, { kind: { case: 'operationResult', value } }));
    let bytes: Uint8Array | undefined;
    let problem: string | undefined;
    try {
      bytes = encode(result);
      if (bytes.length > MAX_OPERATION_MESSAGE_BYTES)
        problem = `the result is ${(bytes.length / BYTES_PER_MIB).toFixed(1)} MiB; one may be at most ${(MAX_OPERATION_MESSAGE_BYTES / BYTES_PER_MIB).toFixed(1)} MiB`;
    } catch (err) {
      problem = `the result cannot be encoded: ${errorMessage(err)}`;
    }
    if (problem !== undefined) {
      this.options.logger.warn({ operationId: result.id, account: result.account, code: Errors.OPERATION_RESULT_TOO_LARGE.code }, problem);
      bytes = encode(
        create(OperationResultSchema, {
          id: result.id,
          account: result.account,
          httpStatus: result.httpStatus,
          errorCode: Errors.OPERATION_RESULT_TOO_LARGE.code,
          message: problem,
          written: result.written,
          ...(result.timings ? { timings: result.timings } : {}),
        }),
      );
    }
    this.send(preEncoded(AgentMessageSchema, bytes!));
  }

  private send(message: AgentMessage): void {
    try {
      this.call?.write(message);
    } catch (err) {
      this.options.logger.warn({ err: errorMessage(err) }, 'failed to write to the hub session');
    }
  }

  private onEnded(call: ClientDuplexStream<AgentMessage, HubMessage>, reason: string): void {
    if (this.call !== call) return;
    this.call = undefined;
    if (this.pingTimer) clearInterval(this.pingTimer);
    const wasConnected = this.session !== undefined;
    this.session = undefined;
    this.sharedSync?.close(reason);
    this.sharedSync = undefined;
    // The next session may be with another (upgraded) hub replica: offer the configured version again; an
    // older hub refuses it once and the hello after falls back.
    if (wasConnected) this.offeredVersion = this.options.protocolVersion ?? PROTOCOL_VERSION;
    if (this.endReason !== undefined) reason = this.endReason;
    // A TLS agent dialling a plaintext hub: say so at once, in lastError and the log, not only after the probe.
    const hint = wasConnected ? undefined : plaintextHint(reason);
    if (hint !== undefined) reason = `${reason.trim()} (${hint})`;
    this.lastError = reason;
    if (wasConnected) this.options.onDisconnected(reason);
    try {
      call.cancel();
    } catch {
      // Already gone.
    }
    this.scheduleReconnect(reason);
    if (!wasConnected && this.endReason === undefined && hint === undefined && /UNAVAILABLE/.test(reason)) this.explainFailure(reason);
  }

  /** A connection that never came up: a TLS handshake outside gRPC says why (wrong CA, expired, no client certificate). */
  private explainFailure(reason: string): void {
    const probe = this.options.transport.probe;
    if (!probe) return;
    probe(this.options.address).then(
      (detail) => {
        if (detail === undefined || this.stopped || this.session !== undefined) return;
        this.lastError = `${reason} (TLS: ${detail})`;
        this.options.logger.error({ address: this.options.address, tls: detail }, `the TLS handshake with the hub fails: ${detail}`);
      },
      // The probe cannot even start its handshake when Node refuses the TLS files (a key OpenSSL deems
      // too small passes every check before it): that is the explanation, and no reason to end the agent.
      (err: unknown) => this.options.logger.error({ address: this.options.address, err: errorMessage(err) }, 'cannot check the TLS handshake with the hub'),
    );
  }

  private scheduleReconnect(reason: string): void {
    if (this.stopped) return;
    this.lastError = reason;
    if (this.connectedAt > 0 && Date.now() - this.connectedAt > HEALTHY_SESSION_MS) {
      this.backoff.reset();
      this.connectedAt = 0;
    }
    const waitMs = this.backoff.next();
    this.state = 'backoff';
    this.reconnects++;
    this.options.logger.warn({ reason, retryInMs: waitMs }, 'hub session ended; reconnecting');
    this.reconnectTimer = setTimeout(() => this.connect(), waitMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.state = 'stopped';
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    const call = this.call;
    this.call = undefined;
    if (this.session) this.options.onDisconnected('agent stopping');
    this.session = undefined;
    this.sharedSync?.close('the agent is stopping');
    this.sharedSync = undefined;
    try {
      call?.end();
      call?.cancel();
    } catch {
      // Already gone.
    }
    this.client?.close();
    this.options.transport.close();
  }
}
