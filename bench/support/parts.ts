import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { stringify as toYaml } from 'yaml';
import { benchHubConfig } from './hub-database.ts';
import type { BenchProcess, ProcessRegistry } from './processes.ts';
import type { ChangedObject } from './workload.ts';

/** Log level of the hub and agent under measurement: their start-up lines are needed, nothing more. */
const PART_ENV = { LOG_LEVEL: 'info' };

export interface RunningHub {
  process: BenchProcess;
  restPort: number;
  grpcPort: number;
  databasePath: string;
}

/** Starts `scale-agent hub` on 127.0.0.1 (REST on port 0; gRPC on `grpcPort`, 0 = any) with a SQLite file. */
export async function startHub(
  registry: ProcessRegistry,
  options: { databasePath: string; grpcPort?: number; timeoutMs: number; name?: string },
): Promise<RunningHub> {
  const configPath = join(dirname(options.databasePath), `${options.name ?? 'hub'}.yaml`);
  writeFileSync(configPath, toYaml(benchHubConfig()));
  const proc = registry.spawnCli(
    options.name ?? 'hub',
    [
      'hub',
      '--config',
      configPath,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--grpc-port',
      String(options.grpcPort ?? 0),
      '--database',
      `sqlite:${options.databasePath}`,
      '--log-format',
      'json',
    ],
    { env: PART_ENV },
  );
  const started = await proc.waitForJson((r) => r.msg === 'hub started', options.timeoutMs, 'the hub to start');
  return { process: proc, restPort: Number(started.rest), grpcPort: Number(started.grpc), databasePath: options.databasePath };
}

export interface AgentAccount {
  name: string;
  kubeconfigFile: string;
}

/** Writes the agent's YAML: one account per cluster (infrastructure mode), the given kinds, admin on port 0. */
export function writeAgentConfig(path: string, options: { hubGrpcPort: number; accounts: AgentAccount[]; kinds: string[] }): void {
  writeFileSync(
    path,
    toYaml({
      agent: { id: 'bench-agent' },
      // A short reconnect backoff so the hub-restart scenario measures the resync, not the backoff.
      clouddriver: { grpc: `127.0.0.1:${options.hubGrpcPort}`, insecure: true, backoff: { initialMs: 200, maxMs: 1000 } },
      server: { host: '127.0.0.1', port: 0 },
      kubernetes: { accounts: options.accounts.map((a) => ({ name: a.name, kubeconfigFile: a.kubeconfigFile, kinds: options.kinds })) },
      logging: { format: 'json' },
    }),
  );
}

export interface RunningAgent {
  process: BenchProcess;
  adminUrl: string;
}

/** Starts `scale-agent agent --config <file>`; resolves with its admin URL once it logged "agent started". */
export async function startAgent(registry: ProcessRegistry, configPath: string, timeoutMs: number, nodeArgs: string[] = []): Promise<RunningAgent> {
  const proc = registry.spawnCli('agent', ['agent', '--config', configPath], { env: PART_ENV, nodeArgs });
  const started = await proc.waitForJson((r) => r.msg === 'agent started', timeoutMs, 'the agent to start');
  return { process: proc, adminUrl: `http://127.0.0.1:${Number(started.admin)}` };
}

export interface WatchRow {
  account: string;
  pending: number;
  known: number;
  reflector: { state: string; relists: number; watchRestarts: number; errors: number };
}

export interface AgentState {
  feeds: number;
  watching: number;
  pending: number;
  known: number;
  relists: number;
  unackedBatches: number;
  cachingAccounts: number;
  hubState: string;
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

/** The agent's view of its feeds, from /watches, /accounts and /health. */
export async function agentState(adminUrl: string): Promise<AgentState> {
  const [watches, accounts, health] = await Promise.all([
    getJson<WatchRow[]>(`${adminUrl}/watches`),
    getJson<Array<{ caching: boolean; syncStream: { unackedBatches: number } | null }>>(`${adminUrl}/accounts`),
    getJson<{ hub: { state: string } }>(`${adminUrl}/health`),
  ]);
  const state: AgentState = {
    feeds: watches.length,
    watching: 0,
    pending: 0,
    known: 0,
    relists: 0,
    unackedBatches: 0,
    cachingAccounts: 0,
    hubState: health.hub.state,
  };
  for (const w of watches) {
    if (w.reflector.state === 'watching') state.watching++;
    state.pending += w.pending;
    state.known += w.known;
    state.relists += w.reflector.relists;
  }
  for (const a of accounts) {
    if (a.caching) state.cachingAccounts++;
    state.unackedBatches += a.syncStream?.unackedBatches ?? 0;
  }
  return state;
}

/** Sums every sample of a metric in Prometheus text format (all label sets). */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

export interface AgentCounters {
  changesSent: number;
  bytesSent: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
}

/** What the agent has streamed so far (acknowledged by the hub), and its live heap, from /metrics. */
export async function agentCounters(adminUrl: string): Promise<AgentCounters> {
  const response = await fetch(`${adminUrl}/metrics`);
  const text = await response.text();
  return {
    changesSent: metricSum(text, 'scale_agent_changes_sent_total'),
    bytesSent: metricSum(text, 'scale_agent_bytes_sent_total'),
    heapUsedBytes: metricSum(text, 'nodejs_heap_size_used_bytes'),
    heapTotalBytes: metricSum(text, 'nodejs_heap_size_total_bytes'),
    externalBytes: metricSum(text, 'nodejs_external_memory_bytes'),
  };
}

/**
 * Read-only access to the hub's SQLite file from the benchmark process (WAL lets it read beside the
 * hub's writes): object counts and what a restart rewrote.
 */
export class HubDatabase {
  private db: BetterSqlite3.Database | undefined;

  constructor(private readonly path: string) {}

  private open(): BetterSqlite3.Database | undefined {
    if (this.db === undefined && existsSync(this.path)) this.db = new BetterSqlite3(this.path, { readonly: true, fileMustExist: true });
    return this.db;
  }

  objectCount(): number {
    const db = this.open();
    if (!db) return 0;
    try {
      return (db.prepare('SELECT count(*) AS n FROM objects').get() as { n: number }).n;
    } catch {
      return 0; // not migrated yet
    }
  }

  /** Objects upserted at or after `sinceMs` (the hub stamps every upsert with its commit time). */
  upsertedSince(sinceMs: number): number {
    const db = this.open();
    if (!db) return 0;
    return (db.prepare('SELECT count(*) AS n FROM objects WHERE updated_at >= ?').get(sinceMs) as { n: number }).n;
  }

  /** How many of the changed objects the hub holds at (at least) the changed resourceVersion. */
  holding(changes: ChangedObject[]): number {
    const db = this.open();
    if (!db) return 0;
    const statement = db.prepare('SELECT resource_version AS rv FROM objects WHERE account = ? AND api_group = ? AND kind = ? AND namespace = ? AND name = ?');
    let n = 0;
    for (const c of changes) {
      const row = statement.get(c.cluster, c.group, c.kind, c.namespace, c.name) as { rv: string } | undefined;
      if (row && Number(row.rv) >= Number(c.resourceVersion)) n++;
    }
    return n;
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
  }
}
