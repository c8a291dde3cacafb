import tls from 'node:tls';
import type { Logger } from '../common/logger.ts';
import { Http1Transport, transportError } from './http1-transport.ts';
import { Http2Transport } from './http2-transport.ts';
import {
  CONNECT_TIMEOUT_MS,
  hostOf,
  portOf,
  TCP_KEEPALIVE_MS,
  type TlsSettings,
  type Transport,
  type TransportProtocol,
  type TransportRequest,
  type TransportResponse,
} from './transport.ts';

/** Offered in this order: h2 when the server speaks it, HTTP/1.1 otherwise. */
const ALPN_PROTOCOLS = ['h2', 'http/1.1'];

/**
 * Picks the protocol per API server by ALPN on the first connection: h2 → one multiplexed session,
 * anything else → HTTP/1.1 keep-alive. Plain http:// goes straight to HTTP/1.1. If the h2 session
 * cannot be re-established later, the next request probes again (a proxy in front may have changed).
 */
export class NegotiatingTransport implements Transport {
  private selected: Transport | undefined;
  private probing: Promise<Transport> | undefined;
  private closed = false;

  constructor(
    private readonly url: URL,
    private readonly tlsSettings: TlsSettings,
    private readonly logger?: Logger,
  ) {
    if (url.protocol !== 'https:') this.selected = new Http1Transport(url, undefined);
  }

  get protocol(): TransportProtocol | undefined {
    return this.selected?.protocol;
  }

  /** The transport chosen, once known (tests inspect session reuse through it). */
  get current(): Transport | undefined {
    return this.selected;
  }

  async request(req: TransportRequest): Promise<TransportResponse> {
    const transport = this.selected ?? (await this.select());
    return transport.request(req);
  }

  /** An h2 session could not be re-established: probe again on the next request. */
  private renegotiate(transport: Transport): void {
    if (this.selected !== transport || this.closed) return;
    this.selected = undefined;
    // Never rejects: closing only destroys sockets and sessions.
    void transport.close(true);
  }

  private select(): Promise<Transport> {
    this.probing ??= this.probe().finally(() => {
      this.probing = undefined;
    });
    return this.probing;
  }

  private async probe(): Promise<Transport> {
    const socket = await this.dial();
    let transport: Transport;
    if (socket.alpnProtocol === 'h2') {
      const h2: Http2Transport = new Http2Transport(this.url, {
        dial: () => this.dial(),
        firstSocket: socket,
        onConnectError: () => this.renegotiate(h2),
        ...(this.logger ? { logger: this.logger } : {}),
      });
      transport = h2;
    } else {
      socket.destroy();
      transport = new Http1Transport(this.url, this.tlsSettings);
    }
    this.logger?.debug({ host: this.url.host, protocol: transport.protocol }, 'API server protocol negotiated');
    if (this.closed) {
      await transport.close(true);
      throw transportError(this.url, new Error('client closed'));
    }
    this.selected = transport;
    return transport;
  }

  /** A TLS connection offering both protocols; resolves once the handshake completes. */
  dial(): Promise<tls.TLSSocket> {
    const s = this.tlsSettings;
    const options: tls.ConnectionOptions = {
      host: hostOf(this.url),
      port: portOf(this.url),
      ALPNProtocols: ALPN_PROTOCOLS,
      rejectUnauthorized: s.rejectUnauthorized,
    };
    if (s.servername !== undefined) options.servername = s.servername;
    options.secureContext = secureContextFor(s);
    return new Promise((resolve, reject) => {
      const socket = tls.connect(options);
      const timer = setTimeout(() => socket.destroy(new Error(`connect timed out after ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        // Errors after the handshake reach whoever owns the socket next (the h2 session); until then an
        // idle socket's error must not crash the process.
        socket.on('error', ignoreError);
        socket.setKeepAlive(true, TCP_KEEPALIVE_MS);
        // No Nagle: requests and HTTP/2 frames (WINDOW_UPDATEs, PINGs) go out when written, as Go's
        // client-go sends them (Go sets TCP_NODELAY on every connection).
        socket.setNoDelay(true);
        resolve(socket);
      });
      const onError = (err: Error) => {
        clearTimeout(timer);
        reject(transportError(this.url, err));
      };
      socket.once('error', onError);
    });
  }

  async close(force = false): Promise<void> {
    this.closed = true;
    await this.selected?.close(force);
  }
}

function ignoreError(): void {}

/** Secure contexts kept for reuse, by CA and client identity; beyond this many, new ones are not kept. */
const MAX_SHARED_CONTEXTS = 256;
const sharedContexts = new Map<string, tls.SecureContext>();

/**
 * The TLS context for these settings. Without a client certificate it is shared by every connection
 * that trusts the same CA: building one parses the CA bundle, and per connection that cost an agent
 * with a thousand accounts a measurable share of its start (docs/performance.md, "scale"). With a client
 * certificate (which exec plugins rotate) each connection gets its own, so no old key is kept around.
 * The context holds only what `tls.connect` builds from the same options.
 */
function secureContextFor(s: TlsSettings): tls.SecureContext {
  const options: tls.SecureContextOptions = {};
  if (s.ca !== undefined) options.ca = s.ca;
  if (s.cert !== undefined || s.key !== undefined) {
    if (s.cert !== undefined) options.cert = s.cert;
    if (s.key !== undefined) options.key = s.key;
    return tls.createSecureContext(options);
  }
  const key = s.ca ?? '';
  const cached = sharedContexts.get(key);
  if (cached !== undefined) return cached;
  const context = tls.createSecureContext(options);
  if (sharedContexts.size < MAX_SHARED_CONTEXTS) sharedContexts.set(key, context);
  return context;
}
