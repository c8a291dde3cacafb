import pg from 'pg';
import { Backoff } from '../../common/backoff.ts';
import { errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { decodeRelayEvent, encodeRelayEvent, type RelayEvent, type RelayWakeups } from './relay-wakeups.ts';

/** The NOTIFY channel of the relay (per database: replicas of another database never hear it). */
export const RELAY_CHANNEL = 'scale_agent_relay';
/** With LISTEN/NOTIFY waking the replicas, the poll is only a backstop: this many times the configured interval. */
export const BACKSTOP_POLL_FACTOR = 10;
const RECONNECT = { initialMs: 200, maxMs: 5000, multiplier: 2, jitter: 0.2, resetAfterMs: 30_000 };

export interface PostgresWakeupsOptions {
  connectionString: string;
  /** operations.relayPollIntervalMs; the backstop poll runs BACKSTOP_POLL_FACTOR times less often. */
  pollIntervalMs: number;
  connectTimeoutMs: number;
  logger: Logger;
}

/**
 * Wakeups over PostgreSQL's LISTEN/NOTIFY, on one dedicated connection per replica (LISTEN needs a
 * session of its own; the store's pool hands connections around). The connection is reopened with
 * backoff when it breaks; after every (re)connection `onGap` runs, since events sent meanwhile are lost.
 */
export class PostgresWakeups implements RelayWakeups {
  readonly pollIntervalMs: number;
  private client: pg.Client | undefined;
  private connected = false;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff(RECONNECT);
  private onEvent: (event: RelayEvent) => void = () => {};
  private onGap: () => void = () => {};

  constructor(private readonly options: PostgresWakeupsOptions) {
    this.pollIntervalMs = options.pollIntervalMs * BACKSTOP_POLL_FACTOR;
  }

  /** Resolves once listening; a first connection that fails is retried in the background (polling covers the gap). */
  async start(onEvent: (event: RelayEvent) => void, onGap: () => void): Promise<void> {
    this.onEvent = onEvent;
    this.onGap = onGap;
    await this.connect();
  }

  async publish(event: RelayEvent): Promise<void> {
    const client = this.client;
    if (!this.connected || client === undefined) return;
    try {
      await client.query('select pg_notify($1, $2)', [RELAY_CHANNEL, encodeRelayEvent(event)]);
    } catch (err) {
      this.options.logger.debug({ err: errorMessage(err) }, 'relay notification not sent; the other replicas find the row at their next poll');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    this.connected = false;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      connectionTimeoutMillis: this.options.connectTimeoutMs,
      application_name: 'scale-agent-hub-relay',
    });
    this.client = client;
    client.on('notification', (message) => {
      if (message.channel !== RELAY_CHANNEL) return;
      const event = decodeRelayEvent(message.payload);
      if (event !== undefined) this.onEvent(event);
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, undefined));
    try {
      await client.connect();
      await client.query(`listen ${RELAY_CHANNEL}`);
    } catch (err) {
      this.lost(client, err);
      return;
    }
    if (this.client !== client) return;
    this.connected = true;
    this.backoff.reset();
    this.onGap();
  }

  private lost(client: pg.Client, err: unknown): void {
    if (this.client !== client || this.closed) return;
    this.client = undefined;
    this.connected = false;
    client.end().catch(() => undefined);
    const retryInMs = this.backoff.next();
    this.options.logger.warn(
      { err: err === undefined ? 'connection ended' : errorMessage(err), retryInMs },
      'the relay LISTEN connection to PostgreSQL failed; reconnecting (relayed operations are found by polling meanwhile)',
    );
    this.reconnectTimer = setTimeout(() => void this.connect(), retryInMs);
    this.reconnectTimer.unref();
  }
}
