import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tlsFixture, type TlsFixture } from './tls-fixture.ts';

/** How the fake serves: plain HTTP/1.1, TLS offering only HTTP/1.1, or TLS offering h2 (and HTTP/1.1). */
export type FakeServerMode = 'http' | 'https' | 'h2';

/** The request/response surface shared by node:http and the node:http2 compatibility API. */
export interface FakeRequest {
  method?: string | undefined;
  url?: string | undefined;
  headers: http.IncomingHttpHeaders;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
}
export interface FakeResponse {
  writeHead(status: number, headers?: http.OutgoingHttpHeaders): unknown;
  write(chunk: string | Buffer): boolean;
  end(chunk?: string | Buffer): unknown;
  destroy(error?: Error): unknown;
  readonly destroyed?: boolean;
  once(event: 'close', listener: () => void): unknown;
  flushHeaders?(): void;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  httpVersion: string;
}

export type FakeHandler = (req: FakeRequest, res: FakeResponse, recorded: RecordedRequest) => void | Promise<void>;

export interface FakeApiServer {
  url: string;
  tls?: TlsFixture;
  requests: RecordedRequest[];
  /** HTTP/2 sessions accepted (h2 mode), and TCP connections accepted (every mode). */
  readonly h2Sessions: number;
  readonly connections: number;
  /** Destroys every open connection (and HTTP/2 session) but keeps listening. */
  dropConnections(): void;
  /** Sends GOAWAY on every HTTP/2 session (h2 mode). */
  goaway(): void;
  /** Replaces the handler. */
  handle(handler: FakeHandler): void;
  close(): Promise<void>;
}

/** A tiny API server on 127.0.0.1:0 whose behaviour each test scripts through a handler. */
export async function startFakeApiServer(
  mode: FakeServerMode,
  handler: FakeHandler,
  options: { requestClientCert?: boolean; h2Settings?: import('node:http2').Settings } = {},
): Promise<FakeApiServer> {
  let current = handler;
  const requests: RecordedRequest[] = [];
  let h2Sessions = 0;
  let connections = 0;
  const onRequest = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers as http.IncomingHttpHeaders,
      httpVersion: req.httpVersion,
    };
    requests.push(recorded);
    Promise.resolve(current(req as FakeRequest, res as unknown as FakeResponse, recorded)).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  };
  const tls = mode === 'http' ? undefined : await tlsFixture();
  const secure =
    tls === undefined
      ? {}
      : { ca: tls.caPem, cert: tls.serverCertPem, key: tls.serverKeyPem, requestCert: options.requestClientCert ?? false, rejectUnauthorized: false };
  const sockets = new Set<{ destroy(): void }>();
  const sessions = new Set<http2.ServerHttp2Session>();
  let server: http.Server | https.Server | http2.Http2SecureServer;
  if (mode === 'http') server = http.createServer(onRequest);
  else if (mode === 'https') server = https.createServer(secure, onRequest);
  else {
    const h2 = http2.createSecureServer({ ...secure, allowHTTP1: true, ...(options.h2Settings ? { settings: options.h2Settings } : {}) }, onRequest);
    h2.on('session', (session) => {
      h2Sessions++;
      sessions.add(session);
      session.once('close', () => sessions.delete(session));
    });
    server = h2;
  }
  const connectionEvent = mode === 'http' ? 'connection' : 'secureConnection';
  server.on(connectionEvent, (socket: { destroy(): void; once(e: string, l: () => void): void }) => {
    connections++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const result: FakeApiServer = {
    url: `${mode === 'http' ? 'http' : 'https'}://127.0.0.1:${port}`,
    requests,
    get h2Sessions() {
      return h2Sessions;
    },
    get connections() {
      return connections;
    },
    dropConnections() {
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
    },
    goaway() {
      for (const session of sessions) session.goaway();
    },
    handle(next) {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  if (tls !== undefined) result.tls = tls;
  return result;
}

/** Answers with a JSON body. */
export function sendJson(res: FakeResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** A Kubernetes Status body for an error answer. */
export function status(code: number, reason: string, message = reason): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message };
}

/** Starts a chunked watch response; `send` writes one event line. */
export function openWatch(res: FakeResponse): { send(type: string, object: unknown): void; raw(text: string): void; end(): void } {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.flushHeaders?.();
  return {
    send: (type, object) => {
      res.write(JSON.stringify({ type, object }) + '\n');
    },
    raw: (text) => {
      res.write(text);
    },
    end: () => {
      res.end();
    },
  };
}
