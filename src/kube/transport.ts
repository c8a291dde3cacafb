import type { Readable } from 'node:stream';

/** What a transport sends: the path already carries the server's base path and the query string. */
export interface TransportRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** Aborting destroys the exchange, including a response body still being read. */
  signal: AbortSignal;
}

export interface TransportResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The response body as it arrives; the caller reads it to the end or destroys it. */
  body: Readable;
}

export type TransportProtocol = 'h2' | 'http/1.1';

/** One connection strategy to one API server (HTTP/1.1 keep-alive pool or one HTTP/2 session). */
export interface Transport {
  /** The protocol in use, once known. */
  readonly protocol: TransportProtocol | undefined;
  request(request: TransportRequest): Promise<TransportResponse>;
  /** Stops accepting requests and closes connections once in-flight exchanges end (or at once when `force`). */
  close(force?: boolean): Promise<void>;
}

/** TLS settings shared by every connection to one API server. */
export interface TlsSettings {
  ca?: string;
  rejectUnauthorized: boolean;
  /** SNI and certificate name; undefined for IP hosts, where SNI is not allowed (RFC 6066). */
  servername?: string;
  cert?: string;
  key?: string;
}

/** Connecting (TCP plus TLS handshake) longer than this fails the attempt; Go's dialer uses 30 s. */
export const CONNECT_TIMEOUT_MS = 30_000;

/** TCP keep-alive probes on idle connections, so a dead peer is noticed without traffic (client-go: 30 s). */
export const TCP_KEEPALIVE_MS = 30_000;

/** The port implied by a URL without one. */
export function portOf(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** The hostname without IPv6 brackets, as sockets want it. */
export function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}
