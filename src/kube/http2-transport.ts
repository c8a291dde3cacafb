import http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../common/logger.ts';
import { transportError } from './http1-transport.ts';
import type { Transport, TransportRequest, TransportResponse } from './transport.ts';

/**
 * How often an HTTP/2 session is pinged, and how long a ping may go unanswered before the session is
 * declared dead. Without this a half-open TCP connection would silently stall every watch multiplexed on
 * it (client-go sets ReadIdleTimeout 30 s and PingTimeout 15 s for the same reason).
 */
export const H2_PING_INTERVAL_MS = 30_000;
export const H2_PING_TIMEOUT_MS = 15_000;

/**
 * HTTP/2 flow-control windows this client advertises: how much an API server may send on one stream, and
 * on the whole session, before it must wait for our WINDOW_UPDATE. HTTP/2's default is 64 KiB for both,
 * which cuts a 1 MiB list page into sixteen round trips — on a busy agent, sixteen turns of its event loop
 * (docs/performance.md, "scale"). These are client-go's values (golang.org/x/net/http2: 4 MiB per stream,
 * 1 GiB per connection bounded here to 16 MiB); the agent reads what arrives at once, so the windows are
 * in-flight allowance, not memory held.
 */
export const H2_STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
export const H2_SESSION_WINDOW_BYTES = 16 * 1024 * 1024;

/** Headers HTTP/2 forbids (RFC 9113 §8.2.2); the HTTP/1.1 code path may set them. */
const CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);

export interface Http2TransportOptions {
  /** Opens a TLS socket that negotiated h2. */
  dial: () => Promise<TLSSocket>;
  /** A socket already negotiated (by the ALPN probe), used for the first session. */
  firstSocket?: TLSSocket;
  logger?: Logger;
  /** Connecting a new session failed (the owner may re-negotiate the protocol). */
  onConnectError?: (err: unknown) => void;
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
}

/** A session and the streams reserved on it. */
interface SessionEntry {
  session: http2.ClientHttp2Session;
  active: number;
}

/**
 * HTTP/2 to one API server: normally ONE session multiplexing every request and watch. A session that
 * closes, errors or receives GOAWAY is replaced on the next request; in-flight streams on it finish or
 * fail on their own. Node queues streams beyond the server's SETTINGS_MAX_CONCURRENT_STREAMS silently,
 * which long-lived watches would turn into a hang, so when every session is at that limit another one
 * is opened (as Go's transport does); extra sessions close once idle. Sessions hold the event loop open
 * only while they carry streams.
 */
export class Http2Transport implements Transport {
  readonly protocol = 'h2' as const;
  private readonly sessions: SessionEntry[] = [];
  private connecting: Promise<void> | undefined;
  private firstSocket: TLSSocket | undefined;
  private closed = false;
  /** Sessions opened over this transport's life (tests assert reuse). */
  sessionsOpened = 0;

  constructor(
    private readonly url: URL,
    private readonly options: Http2TransportOptions,
  ) {
    this.firstSocket = options.firstSocket;
  }

  /** Sessions currently open. */
  get openSessions(): number {
    return this.sessions.length;
  }

  async request(req: TransportRequest): Promise<TransportResponse> {
    if (req.signal.aborted) throw req.signal.reason;
    let entry = await this.reserve();
    try {
      return await this.exchange(entry, req);
    } catch (err) {
      // A session that received GOAWAY or closed between choice and use: retry once on a fresh one.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ERR_HTTP2_GOAWAY_SESSION' && code !== 'ERR_HTTP2_INVALID_SESSION') throw err;
      this.forget(entry.session);
      entry = await this.reserve();
      return this.exchange(entry, req);
    }
  }

  /** Sends on a reserved slot; the slot is released when the stream closes (or at once if it cannot be opened). */
  private exchange(entry: SessionEntry, req: TransportRequest): Promise<TransportResponse> {
    const headers: http2.OutgoingHttpHeaders = { ':method': req.method, ':path': req.path };
    for (const [name, value] of Object.entries(req.headers)) {
      const lower = name.toLowerCase();
      if (!CONNECTION_HEADERS.has(lower)) headers[lower] = value;
    }
    let stream: http2.ClientHttp2Stream;
    try {
      stream = entry.session.request(headers, { endStream: req.body === undefined });
    } catch (err) {
      this.release(entry);
      throw err;
    }
    stream.once('close', () => this.release(entry));
    return new Promise((resolve, reject) => {
      let responded = false;
      const onAbort = () => stream.destroy(req.signal.reason);
      req.signal.addEventListener('abort', onAbort, { once: true });
      stream.once('close', () => {
        req.signal.removeEventListener('abort', onAbort);
        if (!responded)
          reject(
            req.signal.aborted ? req.signal.reason : transportError(this.url, new Error(`HTTP/2 stream closed before a response (code ${stream.rstCode})`)),
          );
      });
      stream.once('response', (responseHeaders) => {
        responded = true;
        const status = Number(responseHeaders[':status'] ?? 0);
        resolve({ status, headers: responseHeaders as Record<string, string | string[] | undefined>, body: stream });
      });
      stream.on('error', (err) => {
        if (!responded) reject(req.signal.aborted ? req.signal.reason : transportError(this.url, err));
      });
      if (req.body !== undefined) stream.end(req.body);
    });
  }

  /** A session with a free stream slot, the slot already taken; opens a session when all are full. */
  private async reserve(): Promise<SessionEntry> {
    for (;;) {
      if (this.closed) throw transportError(this.url, new Error('client closed'));
      const entry = this.sessions.find((e) => !e.session.closed && !e.session.destroyed && e.active < maxStreams(e.session));
      if (entry !== undefined) {
        if (entry.active++ === 0) entry.session.ref();
        return entry;
      }
      this.connecting ??= this.connect()
        .catch((err: unknown) => {
          this.options.onConnectError?.(err);
          throw err;
        })
        .finally(() => {
          this.connecting = undefined;
        });
      await this.connecting;
    }
  }

  private release(entry: SessionEntry): void {
    entry.active--;
    if (entry.active > 0 || entry.session.destroyed) return;
    entry.session.unref();
    // Overflow sessions are not kept idle: the first open one carries the steady state.
    if (this.sessions.length > 1 && this.sessions[0] !== entry) this.forget(entry.session);
  }

  private async connect(): Promise<void> {
    let socket = this.firstSocket;
    this.firstSocket = undefined;
    if (socket === undefined || socket.destroyed) socket = await this.options.dial();
    const ready = socket;
    const session = http2.connect(this.url.origin, { createConnection: () => ready, settings: { initialWindowSize: H2_STREAM_WINDOW_BYTES } });
    this.sessionsOpened++;
    session.once('connect', () => session.setLocalWindowSize(H2_SESSION_WINDOW_BYTES));
    session.on('error', (err) => {
      this.options.logger?.debug({ host: this.url.host, err: err.message }, 'HTTP/2 session error');
      this.forget(session);
    });
    session.once('goaway', () => this.forget(session));
    session.once('close', () => this.forget(session));
    this.startPings(session);
    session.unref();
    // Wait for the server's SETTINGS too: they carry the stream limit the pool decisions rely on.
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error) => reject(transportError(this.url, err));
      session.once('error', fail);
      session.once('close', () => fail(new Error('HTTP/2 session closed while connecting')));
      session.once('remoteSettings', () => {
        session.removeListener('error', fail);
        resolve();
      });
    });
    if (this.closed) {
      session.destroy();
      throw transportError(this.url, new Error('client closed'));
    }
    this.sessions.push({ session, active: 0 });
  }

  /** Stops routing new requests to `session`; it closes once its streams end. */
  private forget(session: http2.ClientHttp2Session): void {
    const index = this.sessions.findIndex((e) => e.session === session);
    if (index >= 0) this.sessions.splice(index, 1);
    if (!session.closed && !session.destroyed) session.close();
  }

  private startPings(session: http2.ClientHttp2Session): void {
    const interval = this.options.pingIntervalMs ?? H2_PING_INTERVAL_MS;
    const timeout = this.options.pingTimeoutMs ?? H2_PING_TIMEOUT_MS;
    const timer = setInterval(() => {
      if (session.destroyed || session.connecting) return;
      const deadline = setTimeout(() => {
        this.options.logger?.warn({ host: this.url.host }, 'HTTP/2 ping unanswered; replacing the session');
        this.forget(session);
        session.destroy(transportError(this.url, new Error('HTTP/2 ping timeout')));
      }, timeout);
      deadline.unref();
      try {
        session.ping((err) => {
          clearTimeout(deadline);
          if (err && !session.destroyed) session.destroy(err);
        });
      } catch {
        clearTimeout(deadline);
      }
    }, interval);
    timer.unref();
    session.once('close', () => clearInterval(timer));
  }

  async close(force = false): Promise<void> {
    this.closed = true;
    this.firstSocket?.destroy();
    await this.connecting?.catch(() => undefined);
    const sessions = this.sessions.splice(0).map((e) => e.session);
    await Promise.all(
      sessions.map((session) => {
        if (session.destroyed) return undefined;
        if (force) return void session.destroy();
        return new Promise<void>((resolve) => session.close(() => resolve()));
      }),
    );
  }
}

/** The server's stream limit; unbounded until its SETTINGS say otherwise. */
function maxStreams(session: http2.ClientHttp2Session): number {
  return session.remoteSettings?.maxConcurrentStreams ?? Number.POSITIVE_INFINITY;
}
