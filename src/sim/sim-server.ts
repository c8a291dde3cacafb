import { randomBytes, timingSafeEqual } from 'node:crypto';
import { WriteAudit } from './write-audit.ts';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2Session } from 'node:http2';
import { isIP, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { once } from 'node:events';
import { errorMessage } from '../common/errors.ts';
import { silentLogger, type Logger } from '../common/logger.ts';
import { createCertificateAuthority, issueCertificate } from '../common/pki.ts';
import { handleAdminRequest, type AdminTarget } from './admin-handler.ts';
import { handleClusterRequest } from './api-handler.ts';
import { FaultInjector } from './faults.ts';
import { sendStatus, sendText, type SimHttpRequest, type SimHttpResponse } from './http-io.ts';
import { renderKubeconfig } from './kubeconfig.ts';
import { splitPath } from './request-path.ts';
import { SimCluster } from './sim-cluster.ts';
import { MAX_CONCURRENT_STREAMS, SIM_DEFAULTS, type SimOptions } from './sim-options.ts';
import { internalError, isStatusError, notFound, pathNotFound, unauthorized } from './status.ts';

/** A running sim: many virtual clusters behind one port, each under /clusters/<name>. */
export interface SimServer {
  /** Base URL, e.g. https://127.0.0.1:6443. */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  /** The CA that signed the serving certificate (TLS only). */
  readonly caPem: string | undefined;
  clusterUrl(name: string): string;
  kubeconfig(name: string): string;
  /** Writes <dir>/<name>.yaml for every cluster; returns the paths. */
  writeKubeconfigs(dir: string): Promise<string[]>;
  addCluster(name: string): SimCluster;
  removeCluster(name: string): boolean;
  /** In-process access to a cluster's store and API (throws for an unknown name). */
  cluster(name: string): SimCluster;
  clusterNames(): string[];
  /** Fault injection for benchmarks and tests, the same as the /sim/clusters/{name}/faults admin API. */
  readonly faults: FaultInjector;
  close(): Promise<void>;
}

const HEALTH_PATHS = new Set(['healthz', 'readyz', 'livez']);
const TOKEN_BYTES = 32;
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);
const CLUSTER_SUBJECT = { group: 'sim.scale-agent.io', resource: 'clusters' };

/** Whether the client has gone away (HTTP/1.1 destroys the request; HTTP/2 destroys its stream). */
function clientGone(request: SimHttpRequest): boolean {
  return 'stream' in request ? request.stream.destroyed : request.destroyed;
}

function urlHost(host: string): string {
  const reachable = WILDCARD_HOSTS.has(host) ? '127.0.0.1' : host;
  return isIP(reachable) === 6 ? `[${reachable}]` : reachable;
}

export async function startSim(options: SimOptions = {}): Promise<SimServer> {
  const host = options.host ?? SIM_DEFAULTS.host;
  const tls = options.tls ?? SIM_DEFAULTS.tls;
  const token = options.token ?? randomBytes(TOKEN_BYTES).toString('base64url');
  const logger: Logger = options.logger ?? silentLogger();
  const bookmarkIntervalMs = options.bookmarkIntervalMs ?? SIM_DEFAULTS.bookmarkIntervalMs;
  const maxWatchBacklogBytes = options.maxWatchBacklogBytes ?? SIM_DEFAULTS.maxWatchBacklogBytes;
  const clusters = new Map<string, SimCluster>();
  const faults = new FaultInjector((name) => clusters.get(name));
  const expectedAuth = Buffer.from(`Bearer ${token}`);

  const newCluster = (name: string): SimCluster =>
    new SimCluster({
      name,
      historyLimit: options.historyLimit ?? SIM_DEFAULTS.historyLimit,
      podStartDelayMs: options.podStartDelayMs ?? SIM_DEFAULTS.podStartDelayMs,
      podTerminationCapMs: options.podTerminationCapMs ?? SIM_DEFAULTS.podTerminationCapMs,
      progressNotifyIntervalMs: options.progressNotifyIntervalMs ?? SIM_DEFAULTS.progressNotifyIntervalMs,
      openApiSchemas: options.openApiSchemas ?? SIM_DEFAULTS.openApiSchemas,
      logger,
    });
  for (const name of options.clusters ?? []) {
    if (clusters.has(name)) throw new Error(`duplicate cluster name ${name}`);
    clusters.set(name, newCluster(name));
  }

  const authorized = (request: SimHttpRequest): boolean => {
    const header = request.headers.authorization;
    if (typeof header !== 'string') return false;
    const given = Buffer.from(header);
    return given.length === expectedAuth.length && timingSafeEqual(given, expectedAuth);
  };

  let serverAddress = '';
  let baseUrl = '';
  let caPem: string | undefined;

  const target: AdminTarget = {
    clusters: () => [...clusters.values()],
    cluster: (name) => clusters.get(name),
    addCluster: (name) => sim.addCluster(name),
    removeCluster: (name) => sim.removeCluster(name),
    kubeconfig: (name) => sim.kubeconfig(name),
    faults,
  };

  const handle = async (request: SimHttpRequest, response: SimHttpResponse): Promise<void> => {
    const method = request.method ?? 'GET';
    try {
      const url = new URL(request.url ?? '/', 'http://sim.invalid');
      const segments = splitPath(url.pathname);
      if (segments.length === 1 && HEALTH_PATHS.has(segments[0]!)) return sendText(response, 200, 'ok');
      if (!authorized(request)) throw unauthorized();
      if (segments[0] === 'sim') return await handleAdminRequest(target, method, segments.slice(1), request, response);
      const prefixed = segments[0] === 'clusters' && segments[1] !== undefined;
      if (!prefixed && options.rootCluster === undefined) throw pathNotFound(url.pathname);
      const clusterName = prefixed ? segments[1]! : options.rootCluster!;
      const cluster = clusters.get(clusterName);
      if (cluster === undefined) throw notFound(CLUSTER_SUBJECT, clusterName);
      const clusterSegments = prefixed ? segments.slice(2) : segments;
      const fault = await faults.beforeRequest({ cluster, method, segments: clusterSegments, query: url.searchParams });
      if (fault !== undefined) throw fault;
      // The client may have given up while a latency fault held the request: serving it now would register
      // a watch whose close event has already gone by, and that watch would never be removed.
      if (clientGone(request)) return;
      if (WriteAudit.isWrite(method)) {
        const path = '/' + clusterSegments.join('/');
        const dryRun = url.searchParams.has('dryRun');
        response.once('finish', () => cluster.audit.record({ at: Date.now(), method, path, status: response.statusCode, dryRun }));
      }
      await handleClusterRequest({
        cluster,
        request,
        response,
        segments: clusterSegments,
        query: url.searchParams,
        serverAddress,
        bookmarkIntervalMs,
        maxWatchBacklogBytes,
      });
    } catch (err) {
      if (isStatusError(err)) {
        if (err.code >= 500) logger.warn({ method, url: request.url, err: err.message }, 'request failed');
        // The apiserver tells clients when to come back (429, 503); client-go waits that long before retrying.
        const retryAfter = err.details?.retryAfterSeconds;
        if (retryAfter !== undefined && !response.headersSent) response.setHeader('retry-after', String(retryAfter));
        sendStatus(response, err.toStatus());
      } else {
        logger.error({ method, url: request.url, err: errorMessage(err), stack: (err as Error).stack }, 'request failed unexpectedly');
        sendStatus(response, internalError(errorMessage(err)).toStatus());
      }
    }
  };
  const listener = (request: SimHttpRequest, response: SimHttpResponse): void => {
    void handle(request, response);
  };

  const sockets = new Set<Socket>();
  const sessions = new Set<Http2Session>();
  let server: HttpServer | Http2SecureServer;
  if (tls) {
    const ca = await createCertificateAuthority({ commonName: 'scale-agent-sim-ca' });
    const reachable = WILDCARD_HOSTS.has(host) ? '127.0.0.1' : host;
    const names = new Set(['localhost', reachable]);
    const ips = new Set(['127.0.0.1', '::1']);
    for (const n of [...names])
      if (isIP(n) !== 0) {
        names.delete(n);
        ips.add(n);
      }
    const serving = await issueCertificate({ ca, commonName: 'scale-agent-sim', dnsNames: [...names], ipAddresses: [...ips], usage: 'server' });
    caPem = ca.certPem;
    const secure = createSecureServer(
      { cert: serving.certPem, key: serving.keyPem, allowHTTP1: true, settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS } },
      listener,
    );
    secure.on('secureConnection', (socket: Socket) => {
      // As a real API server (Go sets TCP_NODELAY on every connection): a watch event is sent when it
      // is written, not held back by Nagle's algorithm until the client acknowledges the previous one.
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    secure.on('session', (session: Http2Session) => {
      sessions.add(session);
      session.once('close', () => sessions.delete(session));
    });
    server = secure;
  } else {
    const plain = createHttpServer(listener);
    plain.on('connection', (socket: Socket) => {
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    server = plain;
  }
  server.on('clientError', (_err: Error, socket: Socket) => socket.destroy());
  server.on('tlsClientError', () => undefined);
  server.listen(options.port ?? SIM_DEFAULTS.port, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err as Error))]);
  const port = (server.address() as AddressInfo).port;
  serverAddress = `${urlHost(host)}:${port}`;
  baseUrl = `${tls ? 'https' : 'http'}://${serverAddress}`;
  logger.info({ url: baseUrl, clusters: clusters.size }, 'sim listening');

  let closed = false;
  const sim: SimServer = {
    url: baseUrl,
    port,
    token,
    caPem,
    clusterUrl: (name) => `${baseUrl}/clusters/${encodeURIComponent(name)}`,
    kubeconfig: (name) => renderKubeconfig({ clusterName: name, server: sim.clusterUrl(name), token, ...(caPem !== undefined ? { caPem } : {}) }),
    async writeKubeconfigs(dir) {
      await mkdir(dir, { recursive: true });
      const paths: string[] = [];
      for (const name of clusters.keys()) {
        const path = join(dir, `${name}.yaml`);
        await writeFile(path, sim.kubeconfig(name), { mode: 0o600 });
        paths.push(path);
      }
      return paths;
    },
    addCluster(name) {
      if (clusters.has(name)) throw new Error(`cluster ${name} already exists`);
      const cluster = newCluster(name);
      clusters.set(name, cluster);
      return cluster;
    },
    removeCluster(name) {
      const cluster = clusters.get(name);
      if (cluster === undefined) return false;
      clusters.delete(name);
      faults.clear(cluster);
      cluster.close();
      return true;
    },
    cluster(name) {
      const cluster = clusters.get(name);
      if (cluster === undefined) throw new Error(`no cluster named ${name}`);
      return cluster;
    },
    clusterNames: () => [...clusters.keys()],
    faults,
    async close() {
      if (closed) return;
      closed = true;
      faults.clearAll();
      for (const cluster of clusters.values()) cluster.close();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
      await done;
    },
  };
  return sim;
}
