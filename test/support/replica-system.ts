/**
 * Several hub replicas on one database and several agents as real processes: a sim, hubs named by the
 * test (each its `hub.id`), agents each dialling one hub and declaring the same sim clusters (agent
 * replicas of the same accounts). A hub keeps its gRPC port across restarts, so the agents that dial it
 * reconnect to the new process.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { ChildProcessGroup } from '../../src/cli/child-processes.ts';
import { waitFor } from '../../src/common/time.ts';
import { parseJsonLines, simAccessFromKubeconfig, simRequest, START_TIMEOUT_MS, type SimAccess } from './system.ts';
import { freePort } from './free-port.ts';

type Tree = Record<string, unknown>;

export interface ReplicaSystemOptions {
  /** The hubs' shared database URL. */
  database: string;
  /** Sim clusters, each an account every agent declares. */
  clusters: string[];
  /** Hub configuration every replica gets (its `hub.id` is added). */
  hub?: Tree;
  echo?: boolean;
}

interface HubProcess {
  restUrl: string;
  grpcPort: number;
}

export class ReplicaSystem {
  readonly dir = mkdtempSync(join(tmpdir(), 'scale-agent-replicas-'));
  readonly group: ChildProcessGroup;
  private readonly hubs = new Map<string, HubProcess>();
  private readonly grpcPorts = new Map<string, number>();
  private readonly agents = new Map<string, string>();
  private readonly pids = new Map<string, number>();

  constructor(private readonly options: ReplicaSystemOptions) {
    this.group = new ChildProcessGroup({ echo: options.echo ?? process.env.E2E_ECHO === '1', env: { LOG_LEVEL: 'info' } });
  }

  kubeconfig(cluster: string): string {
    return join(this.dir, 'kubeconfigs', `${cluster}.yaml`);
  }

  sim(cluster: string): SimAccess {
    return simAccessFromKubeconfig(this.kubeconfig(cluster));
  }

  async startSim(): Promise<void> {
    const { clusters } = this.options;
    this.track(
      'sim',
      this.group.start('sim', [
        'sim',
        '--port',
        '0',
        '--cluster-names',
        clusters.join(','),
        '--kubeconfig-dir',
        join(this.dir, 'kubeconfigs'),
        '--bookmark-interval-ms',
        '2000',
        '--log-format',
        'json',
      ]),
    );
    await waitFor(() => clusters.every((c) => existsSync(this.kubeconfig(c))), { timeoutMs: START_TIMEOUT_MS, what: 'sim kubeconfigs' });
  }

  /** Starts (or restarts) hub replica `name` and waits until it serves. */
  async startHub(name: string): Promise<void> {
    const grpcPort = this.grpcPorts.get(name) ?? (await freePort());
    this.grpcPorts.set(name, grpcPort);
    const configPath = join(this.dir, `${name}.yaml`);
    const extra = this.options.hub ?? {};
    // Plaintext and any identity, as the e2e system runs: the hub wants both said explicitly.
    const config = {
      ...extra,
      hub: { ...(extra.hub as Tree | undefined), id: name },
      grpc: { ...(extra.grpc as Tree | undefined), insecure: true, allowAnyIdentity: true },
    };
    writeFileSync(configPath, toYaml(config));
    this.track(
      name,
      this.group.start(name, [
        'hub',
        '--config',
        configPath,
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--grpc-port',
        String(grpcPort),
        '--database',
        this.options.database,
        '--log-format',
        'json',
      ]),
    );
    const started = await waitFor(() => parseJsonLines(this.group.output(name)).find((l) => l.msg === 'hub started'), {
      timeoutMs: START_TIMEOUT_MS,
      what: `hub ${name} to start`,
    });
    this.hubs.set(name, { restUrl: `http://127.0.0.1:${started.rest}`, grpcPort: started.grpc });
  }

  /** Stops hub `name`: SIGTERM is a clean stop (it gives its accounts back), SIGKILL a crash. */
  async stopHub(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.group.stop(name, signal);
  }

  /**
   * Starts agent `name`, dialling hub `hub`, declaring every cluster under its own name (or the given
   * accounts, each an account name for a sim cluster); waits until it serves its admin port.
   */
  async startAgent(name: string, hub: string, accounts?: Array<{ name: string; cluster: string }>): Promise<void> {
    const grpcPort = this.grpcPorts.get(hub);
    if (grpcPort === undefined) throw new Error(`hub ${hub} was never started`);
    const configPath = join(this.dir, `${name}.yaml`);
    writeFileSync(
      configPath,
      toYaml({
        agent: { id: name },
        clouddriver: { grpc: `127.0.0.1:${grpcPort}`, insecure: true, keepAliveHeartbeatSeconds: 2, backoff: { initialMs: 200, maxMs: 1000 } },
        server: { host: '127.0.0.1', port: 0 },
        kubernetes: {
          accounts: (accounts ?? this.options.clusters.map((cluster) => ({ name: cluster, cluster }))).map((a) => ({
            name: a.name,
            kubeconfigFile: this.kubeconfig(a.cluster),
          })),
        },
        logging: { format: 'json' },
      }),
    );
    this.track(name, this.group.start(name, ['agent', '--config', configPath]));
    const started = await waitFor(() => parseJsonLines(this.group.output(name)).find((l) => l.msg === 'agent started'), {
      timeoutMs: START_TIMEOUT_MS,
      what: `agent ${name} to start`,
    });
    this.agents.set(name, `http://127.0.0.1:${started.admin}`);
  }

  /** The process id of part `name` as last started (benchmarks read its CPU time). */
  pid(name: string): number | undefined {
    return this.pids.get(name);
  }

  private track(name: string, child: { pid?: number | undefined }): void {
    if (child.pid !== undefined) this.pids.set(name, child.pid);
  }

  /** Stops agent `name` (SIGTERM: it closes its session; SIGKILL: it vanishes). */
  async stopAgent(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.group.stop(name, signal);
  }

  /** The agent's view of its accounts (its admin /accounts): whether each is ready and cached by it. */
  async agentAccounts(name: string): Promise<Array<{ name: string; state: string; caching: boolean }>> {
    const url = this.agents.get(name);
    if (url === undefined) throw new Error(`agent ${name} was never started`);
    return (await (await fetch(`${url}/accounts`)).json()) as Array<{ name: string; state: string; caching: boolean }>;
  }

  /** Whether agent `name` caches `account` (false while it stands by, or cannot be asked). */
  async caches(name: string, account: string): Promise<boolean> {
    try {
      return (await this.agentAccounts(name)).some((a) => a.name === account && a.caching);
    } catch {
      return false;
    }
  }

  /** A request to hub `name`'s REST API (GET unless told), the answer parsed as JSON. */
  async rest(name: string, path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
    const hub = this.hubs.get(name);
    if (hub === undefined) throw new Error(`hub ${name} was never started`);
    const response = await fetch(hub.restUrl + path, {
      method: init.method ?? 'GET',
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body), headers: { 'content-type': 'application/json' } }),
    });
    const text = await response.text();
    try {
      return { status: response.status, body: JSON.parse(text) };
    } catch {
      return { status: response.status, body: text };
    }
  }

  /** The write requests the sim served for `cluster` (its /audit), oldest first. */
  async simWrites(cluster: string): Promise<Array<{ at: number; method: string; path: string; status: number; dryRun: boolean }>> {
    const access = this.sim(cluster);
    const audit = await simRequest({ ...access, server: new URL(access.server).origin }, 'GET', `/sim/clusters/${cluster}/audit`);
    if (audit.status !== 200) throw new Error(`sim audit of ${cluster}: ${audit.status} ${JSON.stringify(audit.body)}`);
    return audit.body.writes;
  }

  /** Hub `name`'s output so far (its JSON log lines), for the test's checks. */
  logs(name: string): Array<Record<string, any>> {
    return parseJsonLines(this.group.output(name));
  }

  async stop(): Promise<void> {
    await this.group.stopAll();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
