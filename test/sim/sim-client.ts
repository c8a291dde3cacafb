import { request as httpsRequest, Agent } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { SimServer } from '../../src/sim/sim-server.ts';

/** A small HTTPS (HTTP/1.1) client for the sim in tests: JSON requests and streaming watches. */
export interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  body: any;
  text: string;
}

export interface WatchEvent {
  type: string;
  object: any;
}

const WAIT_TIMEOUT_MS = 10_000;

export class SimClient {
  private readonly agent: Agent | undefined;

  constructor(
    private readonly sim: SimServer,
    private readonly cluster: string,
    private readonly token = sim.token,
  ) {
    this.agent = sim.caPem === undefined ? undefined : new Agent({ ca: sim.caPem, keepAlive: true });
  }

  private open(method: string, path: string, headers: Record<string, string>): ReturnType<typeof httpsRequest> {
    const url = new URL(path.startsWith('/sim/') ? `${this.sim.url}${path}` : `${this.sim.clusterUrl(this.cluster)}${path}`);
    const options = {
      method,
      headers: { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...headers },
      ...(this.agent ? { agent: this.agent } : {}),
    };
    return url.protocol === 'https:' ? httpsRequest(url, options) : httpRequest(url, options);
  }

  request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      // An explicit length: Node sends DELETE bodies neither chunked nor with a length otherwise.
      const req = this.open(method, path, payload === undefined ? {} : { 'content-type': contentType, 'content-length': String(Buffer.byteLength(payload)) });
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // plain text (health endpoints)
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, text });
        });
      });
      req.end(payload);
    });
  }

  get(path: string): Promise<Reply> {
    return this.request('GET', path);
  }

  post(path: string, body: unknown): Promise<Reply> {
    return this.request('POST', path, body);
  }

  put(path: string, body: unknown): Promise<Reply> {
    return this.request('PUT', path, body);
  }

  patch(path: string, body: unknown, contentType: string): Promise<Reply> {
    return this.request('PATCH', path, body, contentType);
  }

  delete(path: string, body?: unknown): Promise<Reply> {
    return this.request('DELETE', path, body);
  }

  watch(path: string): Promise<WatchStream> {
    return new Promise((resolve, reject) => {
      const req = this.open('GET', path, {});
      req.on('error', reject);
      req.on('response', (res) => resolve(new WatchStream(req, res)));
      req.end();
    });
  }

  close(): void {
    this.agent?.destroy();
  }
}

export class WatchStream {
  readonly events: WatchEvent[] = [];
  ended = false;
  private buffer = '';
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly req: ReturnType<typeof httpsRequest>,
    readonly response: IncomingMessage,
  ) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      this.buffer += chunk;
      let newline: number;
      while ((newline = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, newline);
        this.buffer = this.buffer.slice(newline + 1);
        if (line.trim() !== '') this.events.push(JSON.parse(line) as WatchEvent);
      }
      this.notify();
    });
    const finish = () => {
      this.ended = true;
      this.notify();
    };
    response.on('end', finish);
    response.on('close', finish);
    response.on('error', finish);
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Resolves when `check` holds over the events received so far (or the stream's end). */
  until<T>(check: (events: WatchEvent[], ended: boolean) => T | undefined | false, what = 'watch condition'): Promise<T> {
    return new Promise((resolve, reject) => {
      const attempt = (): boolean => {
        const value = check(this.events, this.ended);
        if (value !== undefined && value !== false) {
          resolve(value);
          return true;
        }
        return false;
      };
      if (attempt()) return;
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.events.map((e) => [e.type, e.object?.metadata?.name]))}`));
      }, WAIT_TIMEOUT_MS);
      const waiter = () => {
        if (attempt()) {
          clearTimeout(timer);
          this.waiters.delete(waiter);
        }
      };
      this.waiters.add(waiter);
    });
  }

  /** Waits for an event matching `predicate` and returns it. */
  next(predicate: (event: WatchEvent) => boolean, what?: string): Promise<WatchEvent> {
    return this.until((events) => events.find(predicate), what);
  }

  ended$(): Promise<true> {
    return this.until((_e, ended) => ended || undefined, 'end of watch');
  }

  close(): void {
    this.req.destroy();
  }
}

export function configMap(name: string, data: Record<string, string> = {}, labels?: Record<string, string>): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...(labels ? { labels } : {}) }, data };
}

export function deployment(name: string, image: string, replicas = 2): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image }] } },
    },
  };
}
