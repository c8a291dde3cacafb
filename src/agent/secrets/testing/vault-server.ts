import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/*
 * A stand-in for HashiCorp Vault in tests (no Vault server can be installed here): a real HTTP server
 * on 127.0.0.1 implementing the documented HTTP API endpoints the agent uses, with Vault's shapes —
 * KV v1 and v2 reads, sys/internal/ui/mounts, Kubernetes, userpass and token auth, renew-self and
 * lookup-self — tokens whose TTL, max TTL and renewability tests choose, X-Vault-Token checks, and
 * Vault's `{"errors": [...]}` bodies (403 "permission denied" on a bad or expired token).
 */

const MS_PER_SECOND = 1000;
const TOKEN_BYTES = 18;
const KV_V1_LEASE_SECONDS = 2_764_800;

export interface VaultTestLease {
  ttlSeconds: number;
  /** The token cannot be renewed past this many seconds after it was issued (Vault's max TTL). */
  maxTtlSeconds: number;
  renewable: boolean;
}

export interface VaultTestServerOptions {
  /** KV mounts and their versions. Default { secret: 2 }. */
  mounts?: Record<string, 1 | 2>;
  /** Serve sys/internal/ui/mounts; false answers 404 there, as Vault before 0.10 did. Default true. */
  uiMounts?: boolean;
  /** The Kubernetes auth method: its mount (default "kubernetes"), the role and the ServiceAccount JWT it accepts. */
  kubernetesAuth?: { path?: string; role: string; jwt: string };
  /** The userpass auth method: its mount (default "userpass") and the one user. */
  userpass?: { path?: string; username: string; password: string };
  /** The lease of tokens issued by logins. Default 1 h, max 24 h, renewable. */
  loginLease?: Partial<VaultTestLease>;
  /** Vault Enterprise: requests must name this namespace (X-Vault-Namespace) or find no route. */
  namespace?: string;
}

export interface VaultTestRequest {
  method: string;
  /** Below /v1/. */
  path: string;
  token: string | undefined;
  namespace: string | undefined;
  status: number;
}

interface TokenEntry extends VaultTestLease {
  issuedAt: number;
  /** 0 = never. */
  expiresAt: number;
}

export class VaultTestServer {
  url = '';
  readonly requests: VaultTestRequest[] = [];
  /** Renewals refused with 403 (as for a revoked token, or one whose policy forbids renew-self). */
  refuseRenewals = false;
  /** Requests are held unanswered (to test timeouts). */
  hang = false;
  logins = 0;
  renewals = 0;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly tokens = new Map<string, TokenEntry>();
  private readonly data = new Map<string, Record<string, unknown>>();
  private readonly mounts: Record<string, 1 | 2>;

  private constructor(private readonly options: VaultTestServerOptions) {
    this.mounts = options.mounts ?? { secret: 2 };
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(options: VaultTestServerOptions = {}): Promise<VaultTestServer> {
    const server = new VaultTestServer(options);
    await new Promise<void>((resolve) => server.server.listen(0, '127.0.0.1', resolve));
    server.url = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
    return server;
  }

  /** Writes a KV secret (`vault kv put <mount>/<path> k=v …`). */
  put(mount: string, path: string, values: Record<string, unknown>): void {
    this.data.set(`${mount}/${path}`, { ...values });
  }

  /** A token as `vault token create` makes one. */
  issueToken(lease: Partial<VaultTestLease> = {}): string {
    const token = `hvs.${randomBytes(TOKEN_BYTES).toString('base64url')}`;
    const full = { ttlSeconds: 3600, maxTtlSeconds: 86_400, renewable: true, ...lease };
    const now = Date.now();
    this.tokens.set(token, { ...full, issuedAt: now, expiresAt: full.ttlSeconds === 0 ? 0 : now + full.ttlSeconds * MS_PER_SECOND });
    return token;
  }

  revoke(token: string): void {
    this.tokens.delete(token);
  }

  /** Whether Vault would accept the token now. */
  valid(token: string | undefined): boolean {
    const entry = token === undefined ? undefined : this.tokens.get(token);
    return entry !== undefined && (entry.expiresAt === 0 || Date.now() < entry.expiresAt);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (this.hang) return;
    const url = new URL(req.url ?? '/', 'http://vault.invalid');
    const path = url.pathname.replace(/^\/v1\//, '');
    const token = header(req, 'x-vault-token');
    const namespace = header(req, 'x-vault-namespace');
    let body: Record<string, unknown> = {};
    try {
      body = chunks.length === 0 ? {} : (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
    } catch {
      return this.send(res, req, path, token, namespace, 400, { errors: ['failed to parse JSON input'] });
    }
    const [status, answer] = this.route(req.method ?? 'GET', path, token, namespace, body);
    this.send(res, req, path, token, namespace, status, answer);
  }

  private send(
    res: ServerResponse,
    req: IncomingMessage,
    path: string,
    token: string | undefined,
    namespace: string | undefined,
    status: number,
    answer: unknown,
  ): void {
    this.requests.push({ method: req.method ?? 'GET', path, token, namespace, status });
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer));
  }

  private route(method: string, path: string, token: string | undefined, namespace: string | undefined, body: Record<string, unknown>): [number, unknown] {
    if (this.options.namespace !== undefined && namespace !== this.options.namespace) {
      return [404, { errors: [`no handler for route "${path}". route entry not found.`] }];
    }
    const k8s = this.options.kubernetesAuth;
    if (method === 'POST' && k8s !== undefined && path === `auth/${k8s.path ?? 'kubernetes'}/login`) {
      if (body.role !== k8s.role) return [400, { errors: [`invalid role name "${String(body.role)}"`] }];
      if (body.jwt !== k8s.jwt) return [403, { errors: ['permission denied'] }];
      return this.login();
    }
    const userpass = this.options.userpass;
    if (method === 'POST' && userpass !== undefined && path === `auth/${userpass.path ?? 'userpass'}/login/${userpass.username}`) {
      if (body.password !== userpass.password) return [400, { errors: ['invalid username or password'] }];
      return this.login();
    }
    if (!this.valid(token)) return [403, { errors: ['permission denied'] }];
    const entry = this.tokens.get(token!)!;
    if (method === 'POST' && path === 'auth/token/renew-self') return this.renew(token!, entry);
    if (method === 'GET' && path === 'auth/token/lookup-self') {
      const ttl = entry.expiresAt === 0 ? 0 : Math.floor((entry.expiresAt - Date.now()) / MS_PER_SECOND);
      return [200, { data: { ttl, renewable: entry.renewable, creation_ttl: entry.ttlSeconds, policies: ['default'] } }];
    }
    if (method === 'GET' && path.startsWith('sys/internal/ui/mounts/')) return this.mountInfo(path.slice('sys/internal/ui/mounts/'.length));
    if (method === 'GET') return this.read(path);
    return [405, { errors: [] }];
  }

  private login(): [number, unknown] {
    this.logins++;
    const lease = { ttlSeconds: 3600, maxTtlSeconds: 86_400, renewable: true, ...this.options.loginLease };
    const token = this.issueToken(lease);
    return [
      200,
      { auth: { client_token: token, accessor: 'accessor', policies: ['default', 'spinnaker'], lease_duration: lease.ttlSeconds, renewable: lease.renewable } },
    ];
  }

  private renew(token: string, entry: TokenEntry): [number, unknown] {
    if (this.refuseRenewals) return [403, { errors: ['permission denied'] }];
    if (!entry.renewable) return [400, { errors: ['lease is not renewable'] }];
    this.renewals++;
    const now = Date.now();
    const grantedMs = Math.min(entry.ttlSeconds * MS_PER_SECOND, entry.issuedAt + entry.maxTtlSeconds * MS_PER_SECOND - now);
    entry.expiresAt = now + grantedMs;
    const granted = Math.max(1, Math.floor(grantedMs / MS_PER_SECOND));
    const warnings = granted < entry.ttlSeconds ? ['TTL exceeded the effective max_ttl; TTL value is capped accordingly'] : null;
    return [200, { auth: { client_token: token, accessor: 'accessor', policies: ['default'], lease_duration: granted, renewable: true }, warnings }];
  }

  private mountOf(path: string): { mount: string; rest: string } | undefined {
    const mount = Object.keys(this.mounts)
      .sort((a, b) => b.length - a.length)
      .find((m) => path === m || path.startsWith(`${m}/`));
    return mount === undefined ? undefined : { mount, rest: path.slice(mount.length + 1) };
  }

  private mountInfo(path: string): [number, unknown] {
    if (this.options.uiMounts === false) return [404, { errors: [] }];
    const found = this.mountOf(path);
    if (found === undefined)
      return [403, { errors: [`preflight capability check returned 403, please ensure client's policies grant access to path "${path}/"`] }];
    const version = this.mounts[found.mount]!;
    return [200, { data: { type: 'kv', path: `${found.mount}/`, options: { version: String(version) }, description: '', local: false } }];
  }

  private read(path: string): [number, unknown] {
    const found = this.mountOf(path);
    if (found === undefined) return [403, { errors: ['permission denied'] }];
    if (this.mounts[found.mount] === 1) {
      const values = this.data.get(`${found.mount}/${found.rest}`);
      if (values === undefined) return [404, { errors: [] }];
      return [200, { lease_duration: KV_V1_LEASE_SECONDS, renewable: false, data: values }];
    }
    if (!found.rest.startsWith('data/')) return [404, { errors: [] }];
    const values = this.data.get(`${found.mount}/${found.rest.slice('data/'.length)}`);
    if (values === undefined) return [404, { errors: [] }];
    return [200, { data: { data: values, metadata: { version: 1, destroyed: false, deletion_time: '' } } }];
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}
