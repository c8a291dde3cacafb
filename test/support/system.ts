import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { ChildProcessGroup } from '../../src/cli/child-processes.ts';
import { waitFor } from '../../src/common/time.ts';
import { ConfigMapDir } from './configmap-dir.ts';

/** How long a part may take to start in tests (two cores shared by sim, hub, agent and the test). */
export const START_TIMEOUT_MS = 60_000;

export interface SimAccess {
  server: string;
  token: string;
  ca: string;
}

/** A JSON request to a sim cluster over HTTPS with its CA and token, as a plain client would. */
export function simRequest(
  sim: SimAccess,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: any }> {
  const url = new URL(sim.server + path);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method,
        ca: sim.ca,
        headers: {
          authorization: `Bearer ${sim.token}`,
          accept: 'application/json',
          ...(payload ? { 'content-type': contentType, 'content-length': payload.length } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // Not JSON (e.g. plain text): keep the text.
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** Reads a kubeconfig the sim wrote into what a test client needs. */
export function simAccessFromKubeconfig(path: string): SimAccess {
  const doc = parseYaml(readFileSync(path, 'utf8')) as any;
  const cluster = doc.clusters[0].cluster;
  const user = doc.users[0].user;
  return { server: cluster.server, token: user.token, ca: Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8') };
}

/**
 * A TCP relay between the agent and the hub that keeps every byte the agent sends, so a test can
 * prove what never crossed the wire.
 */
export class RecordingRelay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  readonly fromAgent: Buffer[] = [];
  /** What the hub sent back, for tests that check both directions. */
  readonly fromHub: Buffer[] = [];
  /** The same bytes per connection, in order, for tests that parse the HTTP/2 frames. */
  readonly connections: Array<{ fromAgent: Buffer[]; fromHub: Buffer[] }> = [];
  port = 0;

  constructor(private readonly targetPort: () => number) {}

  async start(port = 0): Promise<number> {
    this.server = createServer((client) => {
      const upstream = connect(this.targetPort(), '127.0.0.1');
      this.sockets.add(client);
      this.sockets.add(upstream);
      const recorded = { fromAgent: [] as Buffer[], fromHub: [] as Buffer[] };
      this.connections.push(recorded);
      client.on('data', (chunk: Buffer) => {
        this.fromAgent.push(Buffer.from(chunk));
        recorded.fromAgent.push(Buffer.from(chunk));
      });
      upstream.on('data', (chunk: Buffer) => {
        this.fromHub.push(Buffer.from(chunk));
        recorded.fromHub.push(Buffer.from(chunk));
      });
      client.pipe(upstream);
      upstream.pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', close);
      upstream.on('error', close);
      client.on('close', close);
      upstream.on('close', close);
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this.port;
  }

  bytes(): Buffer {
    return Buffer.concat(this.fromAgent);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

export interface SystemOptions {
  clusters: number;
  /** Extra agent configuration merged into each account (kinds, namespaces, …). */
  account?: Record<string, unknown>;
  /** Accounts the agent is configured for besides the sim's clusters (not waited for at start). */
  extraAccounts?: Array<Record<string, unknown>>;
  /** Relay agent→hub traffic through a recorder. */
  recordAgentTraffic?: boolean;
  /** Extra sim flags (`--sample-apps 5`, …). */
  simArgs?: string[];
  /** Extra agent configuration, deep-merged into the generated file (`kubernetes.reflector`, `health`, …). */
  agent?: Record<string, unknown>;
  /** The hub's database URL (default: SQLite in the system's directory, see dbPath). */
  database?: string;
  /** Hub configuration (`operations.timeoutMs`, …) written to a file passed with `--config`; flags still set ports and database. */
  hub?: Record<string, unknown>;
  echo?: boolean;
  /** LOG_LEVEL of every process (default info). */
  logLevel?: string;
  /**
   * Extra environment of the agent process (e.g. the in-cluster service variables of agent mode); a
   * function is called when the agent starts, once the sim's address is known.
   */
  agentEnv?: NodeJS.ProcessEnv | ((system: TestSystem) => NodeJS.ProcessEnv);
  /** Mount the agent's configuration as the kubelet mounts a ConfigMap (a `..data` symlink swapped on update). */
  agentConfigMap?: boolean;
}

type Tree = Record<string, unknown>;
const isTree = (value: unknown): value is Tree => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `base` with `extra` laid over it, objects merged key by key, everything else replaced. */
function deepMerge(base: Tree, extra: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    out[key] = isTree(current) && isTree(value) ? deepMerge(current, value) : value;
  }
  return out;
}

/** The JSON log lines of a process's output (pino), skipping partial and non-JSON lines. */
export function parseJsonLines(output: string): Array<Record<string, any>> {
  const out: Array<Record<string, any>> = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // A partial or non-JSON line.
    }
  }
  return out;
}

/**
 * The whole system as real processes: a sim with N clusters, a hub on SQLite and one agent carrying
 * every cluster, on OS-chosen ports under a temporary directory.
 */
export class TestSystem {
  readonly dir = mkdtempSync(join(tmpdir(), 'scale-agent-e2e-'));
  readonly group: ChildProcessGroup;
  readonly names: string[];
  restUrl = '';
  grpcPort = 0;
  restPort = 0;
  relay: RecordingRelay | undefined;
  /** The running agent's admin URL (health, /watches, /metrics). */
  agentAdminUrl = '';
  /** The processes of the parts, for signal(). */
  private readonly processes = new Map<'sim' | 'hub' | 'agent', ChildProcess>();

  constructor(private readonly options: SystemOptions) {
    this.group = new ChildProcessGroup({ echo: options.echo ?? process.env.E2E_ECHO === '1', env: { LOG_LEVEL: options.logLevel ?? 'info' } });
    this.names = Array.from({ length: options.clusters }, (_, i) => `cluster-${i + 1}`);
  }

  get dbPath(): string {
    return join(this.dir, 'hub.db');
  }

  kubeconfig(name: string): string {
    return join(this.dir, 'kubeconfigs', `${name}.yaml`);
  }

  sim(name: string): SimAccess {
    return simAccessFromKubeconfig(this.kubeconfig(name));
  }

  async start(): Promise<this> {
    this.startPart('sim', [
      'sim',
      '--port',
      '0',
      '--cluster-names',
      this.names.join(','),
      '--kubeconfig-dir',
      join(this.dir, 'kubeconfigs'),
      '--bookmark-interval-ms',
      '2000',
      '--log-format',
      'json',
      ...(this.options.simArgs ?? []),
    ]);
    await waitFor(() => this.names.every((n) => existsSync(this.kubeconfig(n))), { timeoutMs: START_TIMEOUT_MS, what: 'sim kubeconfigs' });
    await this.startHub();
    if (this.options.recordAgentTraffic) {
      this.relay = new RecordingRelay(() => this.grpcPort);
      await this.relay.start();
    }
    this.startAgent();
    await this.readAgentAdminUrl();
    await this.waitForAccounts();
    return this;
  }

  async startHub(): Promise<void> {
    const args = [
      'hub',
      '--host',
      '127.0.0.1',
      '--port',
      String(this.restPort),
      '--grpc-port',
      String(this.grpcPort),
      '--database',
      this.options.database ?? `sqlite:${this.dbPath}`,
      '--log-format',
      'json',
    ];
    // The e2e system runs plaintext and admits any agent, which the hub wants said explicitly.
    const configPath = join(this.dir, 'hub.yaml');
    writeFileSync(configPath, toYaml(deepMerge({ grpc: { insecure: true, allowAnyIdentity: true } }, this.options.hub ?? {})));
    args.push('--config', configPath);
    this.startPart('hub', args);
    const started = await waitFor(() => parseJsonLines(this.group.output('hub')).find((l) => l.msg === 'hub started'), {
      timeoutMs: START_TIMEOUT_MS,
      what: 'the hub to start',
    });
    this.restPort = started.rest;
    this.grpcPort = started.grpc;
    this.restUrl = `http://127.0.0.1:${this.restPort}`;
  }

  /** The agent's configuration as last written (rewriteAgentConfig changes it). */
  agentConfig: Tree | undefined;
  private agentConfigMap: ConfigMapDir | undefined;

  /**
   * Writes a new agent configuration while the agent runs (as a ConfigMap update reaches a pod when
   * agentConfigMap is set, else by rewriting the file in place). `change` gets the current tree.
   */
  rewriteAgentConfig(change: (config: Tree) => Tree | string): void {
    const next = change(structuredClone(this.agentConfig ?? {}));
    const text = typeof next === 'string' ? next : toYaml(next);
    if (typeof next !== 'string') this.agentConfig = next;
    if (this.agentConfigMap) this.agentConfigMap.write({ 'agent.yaml': text });
    else writeFileSync(join(this.dir, 'agent.yaml'), text);
  }

  /** Configuration laid over the agent's from its next start on (a restart-only key, say). */
  private agentOverrides: Tree = {};

  overrideAgentConfig(extra: Tree): void {
    this.agentOverrides = deepMerge(this.agentOverrides, extra);
  }

  startAgent(): void {
    this.agentConfig = deepMerge(
      {
        agent: { id: 'e2e-agent' },
        clouddriver: {
          grpc: `127.0.0.1:${this.relay ? this.relay.port : this.grpcPort}`,
          insecure: true,
          keepAliveHeartbeatSeconds: 2,
          backoff: { initialMs: 200, maxMs: 2000 },
        },
        server: { host: '127.0.0.1', port: 0 },
        kubernetes: {
          accounts: [
            ...this.names.map((name) => ({ name, kubeconfigFile: this.kubeconfig(name), ...(this.options.account ?? {}) })),
            ...(this.options.extraAccounts ?? []),
          ],
        },
        logging: { format: 'json' },
      },
      deepMerge(this.options.agent ?? {}, this.agentOverrides),
    );
    let configPath = join(this.dir, 'agent.yaml');
    if (this.options.agentConfigMap) {
      this.agentConfigMap ??= new ConfigMapDir(join(this.dir, 'agent-config'));
      this.agentConfigMap.write({ 'agent.yaml': toYaml(this.agentConfig) });
      configPath = this.agentConfigMap.path('agent.yaml');
    } else writeFileSync(configPath, toYaml(this.agentConfig));
    if (this.options.agentEnv !== undefined) {
      const group = new ChildProcessGroup({
        echo: this.options.echo ?? process.env.E2E_ECHO === '1',
        env: {
          LOG_LEVEL: this.options.logLevel ?? 'info',
          ...(typeof this.options.agentEnv === 'function' ? this.options.agentEnv(this) : this.options.agentEnv),
        },
      });
      this.extraGroups.push(group);
      this.agentGroup = group;
      this.processes.set('agent', group.start('agent', ['agent', '--config', configPath]));
      return;
    }
    this.startPart('agent', ['agent', '--config', configPath]);
  }

  /** Groups of processes started with an environment of their own (agentEnv). */
  private readonly extraGroups: ChildProcessGroup[] = [];
  private agentGroup: ChildProcessGroup | undefined;

  /** The agent's output so far. */
  agentOutput(): string {
    return (this.agentGroup ?? this.group).output('agent');
  }

  private startPart(part: 'sim' | 'hub' | 'agent', args: string[]): void {
    this.processes.set(part, this.group.start(part, args));
  }

  /**
   * Sends a signal to a running part: SIGSTOP freezes it (no timers, no socket reads, as a long GC pause
   * or a suspended VM would; its peers' connections stay open), SIGCONT lets it run on.
   */
  signal(part: 'sim' | 'hub' | 'agent', signal: NodeJS.Signals): void {
    const child = this.processes.get(part);
    if (child === undefined || child.exitCode !== null || child.signalCode !== null || !child.kill(signal))
      throw new Error(`cannot send ${signal} to the ${part}: it is not running`);
  }

  /** Reads the agent's admin port from its "agent started" log line (kept before later output can push it out). */
  private async readAgentAdminUrl(): Promise<void> {
    const started = await waitFor(() => parseJsonLines(this.agentOutput()).find((l) => l.msg === 'agent started'), {
      timeoutMs: START_TIMEOUT_MS,
      what: 'the agent to start',
    });
    this.agentAdminUrl = `http://127.0.0.1:${started.admin}`;
  }

  /** GET on the agent's admin port, parsed as JSON when it is JSON. */
  async agentAdmin(path: string): Promise<{ status: number; body: any }> {
    const response = await fetch(this.agentAdminUrl + path);
    const text = await response.text();
    try {
      return { status: response.status, body: JSON.parse(text) };
    } catch {
      return { status: response.status, body: text };
    }
  }

  /** A request to the sim's own admin API (`/sim/...`), with the sim's CA and token. */
  simAdmin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const access = this.sim(this.names[0]!);
    return simRequest({ ...access, server: new URL(access.server).origin }, method, path, body);
  }

  async restartHub(): Promise<void> {
    await this.group.stop('hub');
    await this.startHub();
  }

  /** Stops the agent, runs `whileStopped` (changes the agent must catch up on), and starts it again. */
  async restartAgent(whileStopped?: () => Promise<void>): Promise<void> {
    await (this.agentGroup ?? this.group).stop('agent');
    await whileStopped?.();
    this.startAgent();
    await this.readAgentAdminUrl();
    await this.waitForAccounts();
  }

  /** Per account, the status of its agent as the hub's /credentials shows it (connected, disconnected, …). */
  async agentStatuses(): Promise<Map<string, string | undefined>> {
    const accounts = (await this.rest('/credentials')).body as Array<{ name: string; agent?: { status?: string } }>;
    return new Map((Array.isArray(accounts) ? accounts : []).map((a) => [a.name, a.agent?.status]));
  }

  async waitForAccounts(): Promise<void> {
    await waitFor(
      async () => {
        const accounts = (await this.rest('/credentials')).body as Array<{ name: string; agent?: { status?: string } }>;
        return Array.isArray(accounts) && this.names.every((n) => accounts.some((a) => a.name === n));
      },
      { timeoutMs: START_TIMEOUT_MS, what: 'the agent to register every account' },
    );
  }

  async rest(path: string, init?: { method?: string; body?: unknown }): Promise<{ status: number; body: any }> {
    const response = await fetch(this.restUrl + path, {
      method: init?.method ?? 'GET',
      headers: init?.body !== undefined ? { 'content-type': 'application/json' } : undefined,
      body: init?.body !== undefined ? JSON.stringify(init.body) : undefined,
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Keep text.
    }
    return { status: response.status, body };
  }

  async stop(): Promise<void> {
    // A frozen part would only take SIGTERM once thawed (and be killed after the grace period instead).
    for (const child of this.processes.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGCONT');
    await this.group.stopAll();
    for (const group of this.extraGroups) await group.stopAll();
    await this.relay?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
