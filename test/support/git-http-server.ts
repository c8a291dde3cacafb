import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The real git's smart HTTP server on loopback: each request runs `git http-backend` as a CGI program
 * (the way Apache or nginx+fcgiwrap serve it), so clients speak to git's own upload-pack.
 */
export interface GitHttpServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Every request: method, path and query, and its Authorization header. */
  requests: Array<{ method: string; url: string; authorization: string | undefined }>;
  close(): Promise<void>;
}

export interface GitHttpServerOptions {
  /** The directory whose repositories are served (GIT_PROJECT_ROOT): `<url>/<name>.git` is `<root>/<name>.git`. */
  root: string;
  /** When set, requests without this `Authorization` header are answered 401 with a Basic challenge, as git servers do. */
  authorization?: string;
  /** Each request is answered this long after it arrives (a slow server). */
  delayMs?: number;
  /** Answers a request itself before git does (a redirect, …); return true when it did. */
  intercept?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

/** The CGI header block ends at the first empty line (CRLF or LF, as git writes LF). */
function headerEnd(buffer: Buffer): { at: number; length: number } | undefined {
  const crlf = buffer.indexOf('\r\n\r\n');
  const lf = buffer.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { at: crlf, length: 4 };
  return lf >= 0 ? { at: lf, length: 2 } : undefined;
}

function runBackend(root: string, req: IncomingMessage, res: ServerResponse): void {
  // The client may have gone while a slow server waited: git would wait for its body forever.
  if (res.destroyed || req.destroyed) return;
  const url = new URL(req.url ?? '/', 'http://git');
  const child = spawn('git', ['http-backend'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: root,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: req.method ?? 'GET',
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      ...(req.headers['content-length'] === undefined ? {} : { CONTENT_LENGTH: req.headers['content-length'] }),
      ...(typeof req.headers['git-protocol'] === 'string' ? { GIT_PROTOCOL: req.headers['git-protocol'] } : {}),
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  // A client that gave up (a fetch past its deadline) leaves git waiting on a body that never ends: stop it.
  res.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  });
  req.pipe(child.stdin);
  child.stdin.on('error', () => undefined);
  let head = Buffer.alloc(0);
  let started = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (started) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = headerEnd(head);
    if (end === undefined) return;
    started = true;
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, end.at).toString('latin1').split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
      else headers[name] = value;
    }
    res.writeHead(status, headers);
    res.write(head.subarray(end.at + end.length));
  });
  child.on('close', () => {
    if (!started) res.writeHead(500);
    res.end();
  });
}

export async function startGitHttpServer(options: GitHttpServerOptions): Promise<GitHttpServer> {
  const requests: GitHttpServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
    const answer = () => {
      if (options.intercept?.(req, res) === true) return;
      if (options.authorization !== undefined && req.headers.authorization !== options.authorization) {
        req.resume();
        res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end();
        return;
      }
      runBackend(options.root, req, res);
    };
    if (options.delayMs === undefined) answer();
    else setTimeout(answer, options.delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive connections (and any a refused fetch left open) would hold close() until they time out.
        server.closeAllConnections();
      }),
  };
}
