import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';
import { Errors, ScaleAgentError } from '../../common/errors.ts';
import type { SecretSource } from './artifact-secrets.ts';
import { shownUrl, type BoundedHttpClient } from './bounded-http.ts';

/**
 * isomorphic-git's HTTP plugin on the hub's BoundedHttpClient, so a git fetch reaches only the
 * addresses artifacts.network allows, each request within artifacts.timeoutMs (and all of them within
 * the caller's deadline, through `signal`) and the bytes of all its answers together within `maxBytes`.
 * The account's authorization goes only to the repository's origin: isomorphic-git asks nothing
 * elsewhere, and a redirect to another origin goes without it (BoundedHttpClient).
 *
 * Answers are held whole (as every artifact answer is) and handed over as one chunk. An answer that is
 * not 2xx never reaches isomorphic-git: BoundedHttpClient throws its typed ARTIFACT_* error, which
 * isomorphic-git lets through.
 */
export interface GitTransportOptions {
  client: BoundedHttpClient;
  /** The repository's origin: the only one the authorization goes to. */
  origin: string;
  /** The value of the Authorization header, when the account has credentials. */
  authorization: SecretSource | undefined;
  /** Largest total of the answers' bodies. */
  maxBytes: number;
  /** The configuration key that sets maxBytes, for the message. */
  maxBytesKey: string;
  signal: AbortSignal;
  /** Most refs the repository may advertise (ARTIFACT_TOO_LARGE beyond): a fetch of all of them writes each one to disk. */
  maxRefs: number;
}

/** isomorphic-git's HTTP plugin, and what the repository advertised. */
export interface GitTransport extends HttpClient {
  /**
   * The refs the repository advertises (name → object id), asked for once per transport: isomorphic-git's
   * own discovery, and every later one, gets the same answer without another request.
   */
  advertisedRefs(repositoryUrl: string): Promise<ReadonlyMap<string, string>>;
}

const PKT_LENGTH_DIGITS = 4;
const FLUSH = 0;
const HEX = 16;
const OID_LENGTH = 40;
const DISCOVERY_SUFFIX = '/info/refs?service=git-upload-pack';

/**
 * The refs of a protocol-v1 advertisement: pkt-lines of `<oid> <name>[\0capabilities]`, after the
 * `# service=` line; more than `maxRefs` is refused before any is written.
 */
export function parseAdvertisement(body: Buffer, maxRefs: number, shown: string): Map<string, string> {
  const refs = new Map<string, string>();
  let count = 0;
  for (let pos = 0; pos + PKT_LENGTH_DIGITS <= body.length;) {
    const length = Number.parseInt(body.toString('latin1', pos, pos + PKT_LENGTH_DIGITS), HEX);
    if (!Number.isFinite(length)) break;
    if (length === FLUSH || length < PKT_LENGTH_DIGITS) {
      pos += PKT_LENGTH_DIGITS;
      continue;
    }
    const line = body.toString('utf8', pos + PKT_LENGTH_DIGITS, pos + length).replace(/\n$/, '');
    pos += length;
    if (line.startsWith('#')) continue;
    count += 1;
    if (count > maxRefs) {
      throw new ScaleAgentError(
        Errors.ARTIFACT_TOO_LARGE,
        `the git repository ${shown} advertises more than ${maxRefs} refs (branches and tags); at most ${maxRefs} are read`,
        { limit: maxRefs },
      );
    }
    const name = line.slice(OID_LENGTH + 1).split('\0')[0]!;
    refs.set(name, line.slice(0, OID_LENGTH));
  }
  return refs;
}

async function collect(body: GitHttpRequest['body'] | Iterable<Uint8Array> | undefined): Promise<Buffer | undefined> {
  if (body === undefined) return undefined;
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function* once(chunk: Uint8Array): AsyncIterableIterator<Uint8Array> {
  yield chunk;
}

export function gitTransport(options: GitTransportOptions): GitTransport {
  let received = 0;
  const discoveries = new Map<string, Promise<{ answer: GitHttpResponse; body: Buffer; refs: Map<string, string> }>>();
  const transport: GitTransport = {
    async advertisedRefs(repositoryUrl: string) {
      await transport.request({ url: `${repositoryUrl}${DISCOVERY_SUFFIX}`, method: 'GET', headers: {} });
      return (await discoveries.get(`${repositoryUrl}${DISCOVERY_SUFFIX}`)!).refs;
    },
    async request(request: GitHttpRequest): Promise<GitHttpResponse> {
      if ((request.method ?? 'GET').toUpperCase() === 'GET' && request.url.endsWith(DISCOVERY_SUFFIX)) {
        let discovery = discoveries.get(request.url);
        if (discovery === undefined) {
          discovery = send(request).then(async (answer) => {
            const body = (await collect(answer.body))!;
            return { answer, body, refs: parseAdvertisement(body, options.maxRefs, shownUrl(new URL(request.url))) };
          });
          discoveries.set(request.url, discovery);
        }
        const { answer, body } = await discovery;
        return { ...answer, body: once(body) };
      }
      return send(request);
    },
  };
  const send = async (request: GitHttpRequest): Promise<GitHttpResponse> => {
    const method = (request.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'POST')
      throw new ScaleAgentError(Errors.ARTIFACT_FETCH_FAILED, `git asked for an HTTP ${method}, which is not made`, {});
    // isomorphic-git adds Authorization only for credentials in the URL, which the client refuses anyway.
    const headers = Object.fromEntries(Object.entries(request.headers ?? {}).filter(([name]) => name.toLowerCase() !== 'authorization'));
    const url = new URL(request.url);
    const authorization = url.origin === options.origin ? options.authorization?.value() : undefined;
    const answer = await options.client.get({
      url: request.url,
      method,
      headers,
      body: await collect(request.body),
      credentials: authorization === undefined ? {} : { authorization },
      signal: options.signal,
    });
    received += answer.body.length;
    if (received > options.maxBytes) {
      throw new ScaleAgentError(
        Errors.ARTIFACT_TOO_LARGE,
        `fetching the git repository ${shownUrl(url)} took more than ${options.maxBytes} bytes; at most ${options.maxBytes} are read (${options.maxBytesKey})`,
        { limit: options.maxBytes },
      );
    }
    return {
      url: answer.url,
      method,
      statusCode: answer.status,
      statusMessage: 'OK',
      headers: answer.contentType === undefined ? {} : { 'content-type': answer.contentType },
      body: once(answer.body),
    };
  };
  return transport;
}
