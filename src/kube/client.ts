import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { Errors, ScaleAgentError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { kubeApiError, HTTP_UNAUTHORIZED } from './api-error.ts';
import { createAuthSource, type AuthSource, type TlsIdentity } from './auth.ts';
import { caFingerprint } from './ca-fingerprint.ts';
import type { ClusterCredentials } from './credentials.ts';
import { transportError } from './http1-transport.ts';
import { NegotiatingTransport } from './negotiating-transport.ts';
import { PageBuffers } from './page-buffers.ts';
import { RequestGuard } from './request-guard.ts';
import type { TlsSettings, Transport, TransportProtocol, TransportResponse } from './transport.ts';
import { pumpWatchStream, type WatchEvent, type WatchLineDecoder } from './watch-event.ts';

/** The page buffers of every client in the process (lists at once are bounded by the agent's list budget). */
const pageBuffers = new PageBuffers();

/** Non-watch calls fail after this long: client-go sets no default, but an agent must not wait forever on one hung call. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * A watch given `timeoutSeconds` is ended by the server then; if the server (or a proxy) does not, the client
 * gives up this long after, so a lost close cannot keep a watch open forever.
 */
export const WATCH_DEADLINE_GRACE_MS = 30_000;

export const DEFAULT_USER_AGENT = 'scale-agent';

export type QueryValue = string | number | boolean | undefined;

export interface KubeClientOptions {
  requestTimeoutMs?: number;
  userAgent?: string;
  logger?: Logger;
}

export interface KubeRequest {
  method?: string;
  /** Path below the server URL (which may carry a prefix), e.g. `/api/v1/namespaces`. */
  path: string;
  query?: Record<string, QueryValue>;
  /** A Buffer or string is sent as is; anything else as JSON. */
  body?: Buffer | string | object;
  contentType?: string;
  accept?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface KubeResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface WatchOptions {
  /** Fail the watch with KUBE_TIMEOUT when no bytes arrive for this long (stall detection). */
  idleTimeoutMs?: number;
  /** Called once the server has accepted the watch (200), before any event. */
  onOpen?: () => void;
  /** Reads each line's bytes before it is parsed whole (a reflector that slims: slim-list.ts). */
  decodeLine?: WatchLineDecoder;
}

/**
 * One API server: authentication, transport (one HTTP/2 session when offered, else HTTP/1.1 keep-alive),
 * timeouts, Status errors and watch decoding. Cheap to keep thousands of; holds no per-request state.
 */
export class KubeClient {
  /** The server URL without a trailing slash: the cluster's identity together with `caFingerprint()`. */
  readonly host: string;
  readonly server: URL;
  private readonly basePath: string;
  private readonly auth: AuthSource;
  private readonly requestTimeoutMs: number;
  private readonly userAgent: string;
  private readonly logger: Logger | undefined;
  private transport: NegotiatingTransport | undefined;
  /** The client certificate the current transport presents, to notice an exec plugin rotating it. */
  private transportIdentity: TlsIdentity | undefined;
  private fingerprint: string | undefined;
  private closed = false;

  constructor(
    readonly credentials: ClusterCredentials,
    options: KubeClientOptions = {},
  ) {
    let url: URL;
    try {
      url = new URL(credentials.server);
    } catch {
      throw new ScaleAgentError(Errors.KUBECONFIG_INVALID, `server "${credentials.server}" is not a URL`, { server: credentials.server });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new ScaleAgentError(Errors.KUBECONFIG_INVALID, `server "${credentials.server}" must be http:// or https://`, { server: credentials.server });
    }
    this.server = url;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.host = `${url.protocol}//${url.host}${this.basePath}`;
    this.auth = createAuthSource(credentials.auth);
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    this.logger = options.logger;
    if (credentials.proxyUrl !== undefined)
      this.logger?.warn({ host: this.host, proxyUrl: credentials.proxyUrl }, 'proxy-url is not supported yet; connecting directly');
  }

  /** SHA-256 hex of the kubeconfig CA certificate's DER; '' when there is none. */
  caFingerprint(): string {
    this.fingerprint ??= caFingerprint(this.credentials.caPem);
    return this.fingerprint;
  }

  /** The negotiated protocol, once the first request has connected. */
  get protocol(): TransportProtocol | undefined {
    return this.transport?.protocol;
  }

  /** The transport in use (tests check HTTP/2 session reuse through it). */
  get currentTransport(): Transport | undefined {
    return this.transport?.current;
  }

  /** One request; HTTP errors are returned, not thrown. Transport failures throw KUBE_TRANSPORT_ERROR, timeouts KUBE_TIMEOUT. */
  async request(req: KubeRequest): Promise<KubeResponse> {
    const method = req.method ?? 'GET';
    const guard = new RequestGuard(`${method} ${req.path}`, req.signal, req.timeoutMs ?? this.requestTimeoutMs);
    try {
      const response = await this.send(method, req, guard.signal);
      const body = await readBody(response.body);
      return { status: response.status, headers: response.headers, body };
    } catch (err) {
      throw this.surface(guard.translate(err), req.signal);
    } finally {
      guard.clear();
    }
  }

  /**
   * A request whose 2xx JSON body is returned parsed; anything else throws KUBE_API_ERROR with the HTTP
   * status and Status. A 2xx body is decoded chunk by chunk as it arrives and never joined into one
   * buffer: a list page is often a megabyte, and buffers that size, allocated and freed by the thousand
   * during an initial sync, were what kept the agent's resident memory high afterwards (glibc keeps
   * such blocks); the text lives in the JS heap, which gives its memory back.
   */
  async json<T>(req: KubeRequest): Promise<T> {
    const { status, body: text } = await this.readOk(req, readText);
    if (text.length === 0) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw notJson(req, status);
    }
  }

  /**
   * Like json(), for a caller that reads the bytes itself (a list page slimmed from its bytes,
   * slim-list.ts): the 2xx body, read into one of the process's reused page buffers (page-buffers.ts),
   * goes to `decode` once complete, as one chunk that is valid only until `decode` returns (so `decode`
   * must be synchronous and keep no view of it). A SyntaxError from `decode` means the body is not JSON.
   */
  async decodeJson<T>(req: KubeRequest, decode: (chunks: readonly Buffer[], bytes: number) => T): Promise<T> {
    const { status, body } = await this.readOk(req, (stream) => pageBuffers.read(stream));
    try {
      return decode([body.buffer.subarray(0, body.bytes)], body.bytes);
    } catch (err) {
      if (err instanceof SyntaxError) throw notJson(req, status);
      throw err;
    } finally {
      pageBuffers.release(body.buffer);
    }
  }

  /** One request whose 2xx body `read` reads; anything else throws KUBE_API_ERROR with the HTTP status and Status. */
  private async readOk<B>(req: KubeRequest, read: (stream: Readable) => Promise<B>): Promise<{ status: number; body: B }> {
    const method = req.method ?? 'GET';
    const guard = new RequestGuard(`${method} ${req.path}`, req.signal, req.timeoutMs ?? this.requestTimeoutMs);
    try {
      const response = await this.send(method, { ...req, accept: req.accept ?? 'application/json' }, guard.signal);
      if (response.status < 200 || response.status >= 300) {
        const body = await readBody(response.body);
        throw kubeApiError(response.status, body, { method, path: req.path, retryAfter: headerValue(response.headers['retry-after']) });
      }
      return { status: response.status, body: await read(response.body) };
    } catch (err) {
      throw this.surface(guard.translate(err), req.signal);
    } finally {
      guard.clear();
    }
  }

  /**
   * Opens a watch (`watch=true` is added) and hands each event to `onEvent` as its line arrives (no
   * promise per event: watch-event.ts, pumpWatchStream), for an agent with thousands of watches. A
   * non-200 answer rejects with KUBE_API_ERROR; ERROR events are handed over for the caller to judge (410
   * means relist). Resolves when the server ends the watch; rejects as thrown when `onEvent` throws
   * (the watch ends), with the signal's reason when `signal` aborts, or with KUBE_TIMEOUT when the
   * client-side guard fires: `timeoutSeconds` plus a grace, or `idleTimeoutMs` without bytes.
   */
  async watchEvents(
    path: string,
    query: Record<string, QueryValue>,
    signal: AbortSignal | undefined,
    options: WatchOptions,
    onEvent: (event: WatchEvent) => void,
  ): Promise<void> {
    const timeoutSeconds = Number(query.timeoutSeconds);
    const deadlineMs = Number.isFinite(timeoutSeconds) && timeoutSeconds > 0 ? timeoutSeconds * 1000 + WATCH_DEADLINE_GRACE_MS : undefined;
    const guard = new RequestGuard(`watch ${path}`, signal, deadlineMs);
    guard.setIdle(this.requestTimeoutMs); // until the response headers arrive
    let response: TransportResponse | undefined;
    let consumerFailed = false;
    const deliver = (event: WatchEvent): void => {
      try {
        onEvent(event);
      } catch (err) {
        consumerFailed = true;
        throw err;
      }
    };
    try {
      response = await this.send('GET', { path, query: { ...query, watch: 'true' }, accept: 'application/json' }, guard.signal);
      if (response.status !== 200) {
        const body = await readBody(response.body);
        throw kubeApiError(response.status, body, { method: 'GET', path, retryAfter: headerValue(response.headers['retry-after']) });
      }
      guard.setIdle(options.idleTimeoutMs);
      options.onOpen?.();
      await pumpWatchStream(response.body, () => guard.touch(), options.decodeLine, deliver);
    } catch (err) {
      if (consumerFailed) throw err;
      throw this.surface(guard.translate(err), signal);
    } finally {
      guard.clear();
      if (response !== undefined && !response.body.destroyed) response.body.destroy();
    }
  }

  /** Closes connections; in-flight requests fail. */
  async close(): Promise<void> {
    this.closed = true;
    const transport = this.transport;
    this.transport = undefined;
    await transport?.close(true);
  }

  private async send(method: string, req: KubeRequest, signal: AbortSignal): Promise<TransportResponse> {
    const path = this.basePath + req.path + queryString(req.query);
    const body = encodeBody(req.body);
    const headers: Record<string, string> = { 'user-agent': this.userAgent, accept: req.accept ?? 'application/json' };
    if (body !== undefined)
      headers['content-type'] =
        req.contentType ?? (typeof req.body === 'object' && !Buffer.isBuffer(req.body) ? 'application/json' : 'application/octet-stream');
    // One retry after 401: a rotated token file or expired exec credential is re-fetched (client-go does the same).
    for (let attempt = 0; ; attempt++) {
      const identity = await this.auth.identity();
      const transport = this.transportFor(identity.tls);
      if (identity.authorization !== undefined) headers.authorization = identity.authorization;
      const response = await transport.request({ method, path, headers, signal, ...(body !== undefined ? { body } : {}) });
      if (response.status === HTTP_UNAUTHORIZED && attempt === 0 && this.auth.invalidate()) {
        response.body.destroy();
        continue;
      }
      return response;
    }
  }

  private transportFor(identity: TlsIdentity | undefined): NegotiatingTransport {
    if (this.closed) throw transportError(this.server, new Error('client closed'));
    const current = this.transport;
    if (current !== undefined && identity?.certPem === this.transportIdentity?.certPem && identity?.keyPem === this.transportIdentity?.keyPem) return current;
    // A new client certificate needs new TLS connections; watches on the old ones end and are re-opened by their owners.
    // Never rejects: closing only ends sockets and sessions.
    if (current !== undefined) void current.close(false);
    const transport = new NegotiatingTransport(this.server, this.tlsSettings(identity), this.logger);
    this.transport = transport;
    this.transportIdentity = identity;
    return transport;
  }

  private tlsSettings(identity: TlsIdentity | undefined): TlsSettings {
    const c = this.credentials;
    const settings: TlsSettings = { rejectUnauthorized: !c.insecureSkipTlsVerify };
    if (c.caPem !== undefined) settings.ca = c.caPem;
    const hostname = this.server.hostname.replace(/^\[|\]$/g, '');
    const servername = c.tlsServerName ?? (isIP(hostname) === 0 ? hostname : undefined);
    if (servername !== undefined) settings.servername = servername;
    if (identity !== undefined) {
      settings.cert = identity.certPem;
      settings.key = identity.keyPem;
    }
    return settings;
  }

  /** Errors leave the client typed, except the caller's own abort reason, which is returned as given. */
  private surface(err: unknown, callerSignal: AbortSignal | undefined): unknown {
    if (callerSignal?.aborted && err === callerSignal.reason) return err;
    if (err instanceof ScaleAgentError) return err;
    if (err instanceof Error && err.name === 'AbortError') return err;
    return transportError(this.server, err);
  }
}

function queryString(query: Record<string, QueryValue> | undefined): string {
  if (query === undefined) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.append(key, String(value));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

function encodeBody(body: KubeRequest['body']): Buffer | undefined {
  if (body === undefined) return undefined;
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(JSON.stringify(body), 'utf8');
}

/** The body as UTF-8 text, decoded chunk by chunk (a character split across chunks is joined). */
async function readText(stream: Readable): Promise<string> {
  const decoder = new StringDecoder('utf8');
  let text = '';
  for await (const chunk of stream) text += typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer);
  return text + decoder.end();
}

function notJson(req: KubeRequest, status: number): ScaleAgentError {
  const method = req.method ?? 'GET';
  return new ScaleAgentError(Errors.KUBE_TRANSPORT_ERROR, `${method} ${req.path}: response is not JSON`, { status, method, path: req.path });
}

async function readBody(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
