import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage, type ClientRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction, type Socket } from 'node:net';
import { Errors, ScaleAgentError, errorMessage, isScaleAgentError } from '../../common/errors.ts';
import type { AddressPolicy } from './address-policy.ts';
import { FetchSlots } from './fetch-slots.ts';

/**
 * The one HTTP client every artifact fetcher uses: GET (and the POST of a git fetch), bounded in
 * bytes, time and redirects, and able to connect only to the addresses the AddressPolicy allows.
 *
 * Against server-side request forgery the address is checked where the connection is made, not where
 * the URL is read: the host name is resolved by a `lookup` given to the request, which hands the socket
 * only the allowed addresses it just checked (so DNS cannot answer one address to a check and another
 * to the connection), an IP literal is checked before connecting, and the socket's remote address is
 * checked again once connected. Each redirect is a new request through the same checks, and the
 * credentials of a request go only to the origin (scheme, host, port) it was made for.
 *
 * No proxy is used (HTTP(S)_PROXY is ignored), no compressed encoding is asked for (so maxBytes bounds
 * what is held, not what it would inflate to), and the body is held whole before it is answered: an
 * artifact that fails half-way must still be an error status for Orca, not a truncated 200. Since each
 * request holds its body, requests take one of a few slots (FetchSlots) for their whole duration.
 */

export interface HttpLimits {
  /** Largest body read. */
  maxBytes: number;
  /** Deadline of one get(): every redirect and the whole body. */
  timeoutMs: number;
  /** Deadline of opening one connection. */
  connectTimeoutMs: number;
  /** Redirects followed per get(). */
  maxRedirects: number;
}

export interface HttpGet {
  url: string;
  /** Sent to every host the request reaches. */
  headers?: Record<string, string>;
  /** Sent only to the origin of `url`; a redirect elsewhere goes without them. */
  credentials?: Record<string, string>;
  /** GET unless said: git's smart HTTP posts its fetch. A POST answered by a redirect fails (it is not sent again). */
  method?: 'GET' | 'POST';
  /** The body of a POST. */
  body?: Buffer;
  /** Ends the request early (a deadline over several requests, as a git fetch makes), as ARTIFACT_FETCH_TIMEOUT. */
  signal?: AbortSignal;
  /** A smaller bound than the client's maxBytes for this body (a Helm index), and the key that sets it. */
  maxBytes?: { limit: number; key: string };
}

export interface HttpAnswer {
  status: number;
  body: Buffer;
  /** The URL that answered, after redirects. */
  url: string;
  contentType: string | undefined;
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Host name to addresses (tests give their own, e.g. a name that resolves to a refused address). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
/** How much of an error answer is quoted in the message (GitHub's "Bad credentials", …). */
const ERROR_SNIPPET_BYTES = 300;
const HTTP_SUCCESS_MIN = 200;
const HTTP_SUCCESS_MAX = 299;

/** A URL as messages show it: no user info, no query (it may hold a token, as GitHub's download_url does). */
export function shownUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/**
 * Text that is not a URL, as messages quote it: what may be user info (up to the last `@`) and the query
 * and fragment are cut, since a broken reference is as likely to carry a token as a good one.
 */
export function shownText(text: string): string {
  let shown = text;
  const at = shown.lastIndexOf('@');
  if (at >= 0) {
    const authority = shown.indexOf('//');
    const from = authority >= 0 && authority < at ? authority + 2 : 0;
    shown = `${shown.slice(0, from)}…${shown.slice(at)}`;
  }
  const query = shown.search(/[?#]/);
  if (query >= 0) shown = `${shown.slice(0, query + 1)}…`;
  return shown.length > ERROR_SNIPPET_BYTES ? `${shown.slice(0, ERROR_SNIPPET_BYTES)}…` : shown;
}

function refused(url: URL, address: string, rule: string, host: string): ScaleAgentError {
  const via = isIP(host) === 0 ? ` (${host})` : '';
  return new ScaleAgentError(Errors.ARTIFACT_ADDRESS_REFUSED, `refused to fetch ${shownUrl(url)}: the address ${address}${via} is not allowed: ${rule}`, {
    address,
    rule,
  });
}

function failed(message: string, details: Record<string, unknown> = {}, cause?: unknown): ScaleAgentError {
  return new ScaleAgentError(Errors.ARTIFACT_FETCH_FAILED, message, details, cause === undefined ? undefined : { cause });
}

interface Hop {
  kind: 'answer' | 'redirect';
  answer?: HttpAnswer;
  location?: string;
}

export class BoundedHttpClient {
  constructor(
    private readonly limits: HttpLimits,
    private readonly policy: AddressPolicy,
    private readonly resolve: Resolver = systemResolver,
    /** The hub's fetch slots (ArtifactService makes them from artifacts.maxConcurrentFetches); unbounded when not given (tests). */
    private readonly slots: FetchSlots = new FetchSlots({ maxConcurrent: Number.POSITIVE_INFINITY, maxQueued: 0 }),
  ) {}

  /**
   * The body of a 2xx answer; anything else throws a typed ARTIFACT_* error. Waits for a fetch slot first
   * (at most timeoutMs, then ARTIFACT_FETCH_BUSY); the request's own deadline starts with the slot.
   */
  async get(request: HttpGet): Promise<HttpAnswer> {
    let url = this.parse(request.url);
    const origin = url.origin;
    const bodyLimit = request.maxBytes ?? { limit: this.limits.maxBytes, key: 'artifacts.maxBytes' };
    const release = await this.slots.acquire(this.limits.timeoutMs, request.signal);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.limits.timeoutMs);
    const stop = () => controller.abort();
    request.signal?.addEventListener('abort', stop, { once: true });
    if (request.signal?.aborted === true) controller.abort();
    const method = request.method ?? 'GET';
    try {
      for (let redirects = 0; ; redirects++) {
        const headers = { ...(request.headers ?? {}), ...(url.origin === origin ? (request.credentials ?? {}) : {}) };
        const hop = await this.hop(url, headers, controller.signal, method, request.body, bodyLimit);
        if (hop.kind === 'answer') return hop.answer!;
        if (method !== 'GET') throw failed(`${shownUrl(url)} answered a ${method} with a redirect, which is not followed`, { host: url.host });
        if (redirects >= this.limits.maxRedirects) {
          throw failed(`fetching ${shownUrl(new URL(request.url))} was redirected more than ${this.limits.maxRedirects} times (artifacts.maxRedirects)`, {
            limit: this.limits.maxRedirects,
          });
        }
        url = this.redirectTarget(hop.location!, url);
      }
    } catch (err) {
      if (controller.signal.aborted && !isScaleAgentError(err, Errors.ARTIFACT_ADDRESS_REFUSED.code)) {
        throw new ScaleAgentError(
          Errors.ARTIFACT_FETCH_TIMEOUT,
          `fetching ${shownUrl(new URL(request.url))} took longer than ${this.limits.timeoutMs} ms (artifacts.timeoutMs)`,
          { limit: this.limits.timeoutMs },
        );
      }
      throw err;
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', stop);
      release();
    }
  }

  /** The caller's URL: what is wrong with it is the request's fault (400), quoted without what may be secret. */
  private parse(text: string): URL {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new ScaleAgentError(Errors.ARTIFACT_REQUEST_INVALID, `"${shownText(text)}" is not a URL`, { field: 'reference' });
    }
    checkScheme(url);
    if (url.username !== '' || url.password !== '') {
      throw new ScaleAgentError(
        Errors.ARTIFACT_REQUEST_INVALID,
        `${shownUrl(url)}: credentials in a URL are not sent; give them to an artifact account (username and password)`,
        { field: 'reference' },
      );
    }
    return url;
  }

  /** Where a redirect leads: what is wrong with it is the artifact server's fault (502), not the caller's. */
  private redirectTarget(location: string, from: URL): URL {
    let url: URL;
    try {
      url = new URL(location, from);
    } catch {
      throw failed(`${shownUrl(from)} redirected to "${shownText(location)}", which is not a URL`, { host: from.host });
    }
    checkScheme(url);
    if (url.username !== '' || url.password !== '') {
      throw failed(`${shownUrl(from)} redirected to ${shownUrl(url)} with credentials in the URL, which is not followed`, { host: from.host });
    }
    return url;
  }

  /** Resolves the host and passes on only the allowed addresses, so the socket connects to one of those. */
  private pinnedLookup(url: URL, onRefused: (err: ScaleAgentError) => void): LookupFunction {
    return (hostname, options, callback) => {
      this.resolve(hostname).then(
        (addresses) => {
          const family = typeof options.family === 'number' && options.family !== 0 ? options.family : undefined;
          const candidates = addresses.filter((a) => family === undefined || a.family === family);
          const verdicts = candidates.map((a) => ({ a, verdict: this.policy.check(a.address) }));
          const allowed = verdicts.filter((v) => v.verdict.allowed).map((v) => v.a);
          if (allowed.length === 0) {
            const first = verdicts[0];
            const err =
              first === undefined
                ? failed(`${hostname} has no address${family === undefined ? '' : ` of IPv${family}`}`)
                : refused(url, first.verdict.address, first.verdict.rule, hostname);
            onRefused(err);
            callback(err, '', 0);
            return;
          }
          if (options.all === true) callback(null, allowed);
          else callback(null, allowed[0]!.address, allowed[0]!.family);
        },
        (err: unknown) => callback(err as NodeJS.ErrnoException, '', 0),
      );
    };
  }

  private hop(
    url: URL,
    headers: Record<string, string>,
    signal: AbortSignal,
    method: string,
    body: Buffer | undefined,
    bodyLimit: { limit: number; key: string },
  ): Promise<Hop> {
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    if (isIP(host) !== 0) {
      const verdict = this.policy.check(host);
      if (!verdict.allowed) return Promise.reject(refused(url, verdict.address, verdict.rule, host));
    }
    return new Promise<Hop>((resolve, reject) => {
      // The first typed error wins over the transport error it causes.
      let typed: ScaleAgentError | undefined;
      const fail = (err: unknown) => {
        if (isScaleAgentError(err)) typed ??= err;
        reject(typed ?? failed(`could not fetch ${shownUrl(url)}: ${describe(err)}`, { host: url.host }, err));
      };
      const options: RequestOptions = {
        method,
        host,
        port: url.port === '' ? undefined : Number(url.port),
        path: `${url.pathname}${url.search}`,
        headers: { ...headers, host: url.host, ...(body === undefined ? {} : { 'content-length': String(body.length) }) },
        agent: false,
        signal,
        lookup: this.pinnedLookup(url, (err) => (typed ??= err)),
      };
      let req: ClientRequest;
      try {
        req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(options);
      } catch (err) {
        fail(err);
        return;
      }
      req.on('socket', (socket: Socket) => this.guardSocket(socket, url, host, req, (err) => (typed ??= err)));
      req.on('error', fail);
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (REDIRECT_STATUSES.has(status) && typeof location === 'string' && location !== '') {
          res.destroy();
          resolve({ kind: 'redirect', location });
          return;
        }
        if (status < HTTP_SUCCESS_MIN || status > HTTP_SUCCESS_MAX) {
          readBody(res, ERROR_SNIPPET_BYTES, true).then(
            (snippet) => {
              const text = snippet.toString('utf8').replace(/\s+/g, ' ').trim();
              reject(failed(`${shownUrl(url)} answered ${status}${text === '' ? '' : `: ${text}`}`, { upstreamStatus: status, host: url.host }));
            },
            (err: unknown) => reject(failed(`${shownUrl(url)} answered ${status}`, { upstreamStatus: status, host: url.host }, err)),
          );
          return;
        }
        const header = res.headers['content-length'];
        const declared = header === undefined || header === '' ? undefined : Number(header);
        if (declared !== undefined && Number.isFinite(declared) && declared > bodyLimit.limit) {
          res.destroy();
          reject(tooLarge(url, bodyLimit, declared));
          return;
        }
        readBody(res, bodyLimit.limit, false, declared).then(
          (bytes) => {
            const contentType = res.headers['content-type'];
            resolve({ kind: 'answer', answer: { status, body: bytes, url: url.href, contentType } });
          },
          (err: unknown) => (err instanceof BodyTooLarge ? reject(tooLarge(url, bodyLimit)) : fail(err)),
        );
      });
      req.end(body);
    });
  }

  /** Bounds the connect, and refuses a socket that reached an address the policy does not allow. */
  private guardSocket(socket: Socket, url: URL, host: string, req: ClientRequest, onTyped: (err: ScaleAgentError) => void): void {
    const check = () => {
      const remote = socket.remoteAddress;
      const verdict = remote === undefined ? undefined : this.policy.check(remote);
      if (verdict !== undefined && !verdict.allowed) {
        const err = refused(url, verdict.address, verdict.rule, host);
        onTyped(err);
        req.destroy(err);
      }
    };
    if (!socket.connecting) {
      check();
      return;
    }
    const timer = setTimeout(() => {
      const err = new ScaleAgentError(
        Errors.ARTIFACT_FETCH_TIMEOUT,
        `could not connect to ${url.host} within ${this.limits.connectTimeoutMs} ms (artifacts.connectTimeoutMs)`,
        { limit: this.limits.connectTimeoutMs },
      );
      onTyped(err);
      req.destroy(err);
    }, this.limits.connectTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      check();
    });
    socket.once('close', () => clearTimeout(timer));
  }
}

function tooLarge(url: URL, bodyLimit: { limit: number; key: string }, declared?: number): ScaleAgentError {
  const size = declared === undefined ? `more than ${bodyLimit.limit} bytes` : `${declared} bytes`;
  return new ScaleAgentError(Errors.ARTIFACT_TOO_LARGE, `${shownUrl(url)} is ${size}; at most ${bodyLimit.limit} are read (${bodyLimit.key})`, {
    limit: bodyLimit.limit,
  });
}

function checkScheme(url: URL): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ScaleAgentError(Errors.ARTIFACT_ADDRESS_REFUSED, `refused to fetch ${url.protocol}… URLs: only http and https are fetched`, {
      rule: 'scheme',
    });
  }
}

class BodyTooLarge extends Error {}

/**
 * Reads a body up to `max` bytes: beyond it, `truncate` keeps the first `max`, otherwise BodyTooLarge.
 * A body of declared length (at most `max`) is read into one buffer of that size, so a large artifact
 * is held once, not as its chunks and then again as their concatenation.
 */
function readBody(res: IncomingMessage, max: number, truncate: boolean, declared?: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const whole = declared !== undefined && Number.isSafeInteger(declared) && declared >= 0 && declared <= max ? Buffer.allocUnsafe(declared) : undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    // Settled before the response is destroyed: destroying emits events that must not decide instead.
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      outcome();
    };
    res.on('data', (chunk: Buffer) => {
      if (settled) return;
      if (whole !== undefined) {
        // Node's parser stops a body at its Content-Length; a longer one would be a broken answer.
        if (size + chunk.length > whole.length) {
          settle(() => reject(new Error(`the body is longer than its Content-Length (${whole.length})`)));
          res.destroy();
          return;
        }
        chunk.copy(whole, size);
        size += chunk.length;
        return;
      }
      size += chunk.length;
      if (size <= max) {
        chunks.push(chunk);
        return;
      }
      if (truncate) {
        chunks.push(chunk.subarray(0, chunk.length - (size - max)));
        settle(() => resolve(Buffer.concat(chunks)));
      } else settle(() => reject(new BodyTooLarge()));
      res.destroy();
    });
    // Only the bytes received are answered: the rest of an allocUnsafe buffer never leaves here.
    res.on('end', () =>
      settle(() => {
        if (whole === undefined) resolve(Buffer.concat(chunks));
        else if (size === whole.length) resolve(whole);
        else reject(new Error(`the connection closed after ${size} of ${whole.length} bytes`));
      }),
    );
    res.on('error', (err) => settle(() => reject(err)));
    res.on('aborted', () => settle(() => reject(new Error('the connection closed before the body was complete'))));
  });
}

function describe(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const message = errorMessage(err);
  return code !== undefined && !message.includes(code) ? `${code} ${message}` : message;
}
