/** Entries a cluster's audit keeps; older ones are dropped (and counted). */
export const MAX_AUDITED_WRITES = 100_000;

const WRITE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** One write request a cluster served, as an API server's audit log would show it. */
export interface AuditedWrite {
  /** When the response finished (epoch ms). */
  at: number;
  method: string;
  /** The request path under the cluster (/api/v1/namespaces/…), without the query. */
  path: string;
  /** The HTTP status answered. */
  status: number;
  dryRun: boolean;
}

/**
 * The write requests a cluster served, in order: what tests check "ran at most once" against (every
 * operation's writes reach the API server as requests, whoever sent them). Bounded: past
 * MAX_AUDITED_WRITES the oldest go.
 */
export class WriteAudit {
  private readonly entries: AuditedWrite[] = [];
  private dropped = 0;

  constructor(private readonly limit = MAX_AUDITED_WRITES) {}

  static isWrite(method: string): boolean {
    return WRITE_METHODS.has(method);
  }

  record(write: AuditedWrite): void {
    this.entries.push(write);
    if (this.entries.length > this.limit) {
      this.entries.splice(0, this.entries.length - this.limit);
      this.dropped++;
    }
  }

  /** The writes kept, oldest first, and how many were dropped before them. */
  snapshot(): { writes: AuditedWrite[]; dropped: number } {
    return { writes: [...this.entries], dropped: this.dropped };
  }
}
