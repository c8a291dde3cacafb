/** What one replica tells the others about the relay table, so that they need not wait for their next poll. */
export type RelayEvent =
  /** An operation for `account` was queued: a replica serving the account may claim it. */
  | { kind: 'queued'; id: string; account: string }
  /** An operation `originHubId` submitted has its outcome. */
  | { kind: 'done'; id: string; originHubId: string };

/**
 * How replicas wake each other about relayed operations. Events are hints and may be lost (a dropped
 * connection, a replica starting): every replica also polls the table every `pollIntervalMs`, so a
 * lost event costs at most one interval.
 */
export interface RelayWakeups {
  /** How often the relay polls the table. */
  readonly pollIntervalMs: number;
  /** Starts receiving events (every replica's, this one's included); `onGap` runs when some may have been missed. */
  start(onEvent: (event: RelayEvent) => void, onGap: () => void): Promise<void>;
  /** Tells every replica; best effort, never rejects. */
  publish(event: RelayEvent): Promise<void>;
  close(): Promise<void>;
}

/** Wakeups by polling alone (MySQL/MariaDB, which has no LISTEN/NOTIFY): events are not sent. */
export class PollingWakeups implements RelayWakeups {
  constructor(readonly pollIntervalMs: number) {}

  async start(): Promise<void> {}

  async publish(): Promise<void> {}

  async close(): Promise<void> {}
}

const MAX_EVENT_FIELD = 512;

/** The wire form of an event (a NOTIFY payload); short, and readable in pg_stat_activity. */
export function encodeRelayEvent(event: RelayEvent): string {
  return event.kind === 'queued' ? JSON.stringify({ q: event.id, a: event.account }) : JSON.stringify({ d: event.id, o: event.originHubId });
}

/** Reads a payload back; undefined for anything else (the channel is open to every client of the database). */
export function decodeRelayEvent(payload: string | undefined): RelayEvent | undefined {
  if (payload === undefined || payload.length > 4 * MAX_EVENT_FIELD) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const text = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && x.length <= MAX_EVENT_FIELD;
  if (text(v['q']) && text(v['a'])) return { kind: 'queued', id: v['q'], account: v['a'] };
  if (text(v['d']) && text(v['o'])) return { kind: 'done', id: v['d'], originHubId: v['o'] };
  return undefined;
}
