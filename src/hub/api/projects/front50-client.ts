import { Errors, ScaleAgentError, errorMessage } from '../../../common/errors.ts';
import { HTTP_NOT_FOUND } from '../../../common/http-status.ts';

/**
 * A Spinnaker project as Front50 keeps it (`GET /v2/projects/{project}`, what Clouddriver's
 * Front50Service.getProject reads): its applications and the clusters its dashboard shows.
 */
export interface Front50Project {
  name: string;
  config: {
    applications: string[];
    clusters: ProjectClusterConfig[];
  };
}

/**
 * One cluster of a project's dashboard (Clouddriver's ProjectClustersService.ProjectCluster). `stack`
 * and `detail`: absent matches only server groups without one, `*` any. `applications`: absent means
 * every application of the project (Deck's "All applications"), a list only those.
 */
export interface ProjectClusterConfig {
  account: string;
  stack?: string;
  detail?: string;
  applications?: string[];
}

/** Where projects come from; the routes see this, tests may give their own. */
export interface ProjectSource {
  /** The project, or undefined when Front50 has none of that name. Throws FRONT50_UNAVAILABLE. */
  project(name: string): Promise<Front50Project | undefined>;
}

export interface Front50ClientOptions {
  /** Front50's base URL (the operator's `front50.baseUrl`, Clouddriver's `services.front50.baseUrl`). */
  baseUrl: string;
  /** The whole request, answer included. */
  timeoutMs: number;
  /** The largest answer read; a larger one is refused, not buffered. */
  maxResponseBytes: number;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A field that is absent, null or a string; anything else makes the project malformed. */
function optionalText(source: Json, key: string, where: string): string | undefined {
  const value = source[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new Error(`${where}.${key} is not a string`);
  return value;
}

function optionalTextList(source: Json, key: string, where: string): string[] | undefined {
  const value = source[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new Error(`${where}.${key} is not a list of strings`);
  return value as string[];
}

/**
 * Front50's project JSON, read the way Clouddriver's ObjectMapper reads it (unknown fields ignored). A
 * project without clusters has none (Clouddriver would fail on it; go-clouddriver answers an empty list).
 */
export function parseProject(raw: unknown, requested: string): Front50Project {
  if (!isObject(raw)) throw new Error('the project is not a JSON object');
  const config = raw.config === undefined || raw.config === null ? {} : raw.config;
  if (!isObject(config)) throw new Error('config is not an object');
  const clusters = config.clusters === undefined || config.clusters === null ? [] : config.clusters;
  if (!Array.isArray(clusters)) throw new Error('config.clusters is not a list');
  return {
    name: optionalText(raw, 'name', 'project') ?? requested,
    config: {
      applications: optionalTextList(config, 'applications', 'config') ?? [],
      clusters: clusters.map((entry: unknown, i): ProjectClusterConfig => {
        const where = `config.clusters[${i}]`;
        if (!isObject(entry)) throw new Error(`${where} is not an object`);
        const account = optionalText(entry, 'account', where);
        if (account === undefined || account === '') throw new Error(`${where}.account is missing`);
        const stack = optionalText(entry, 'stack', where);
        const detail = optionalText(entry, 'detail', where);
        const applications = optionalTextList(entry, 'applications', where);
        return { account, ...(stack !== undefined ? { stack } : {}), ...(detail !== undefined ? { detail } : {}), ...(applications ? { applications } : {}) };
      }),
    },
  };
}

/**
 * Reads projects from Front50 with a bound on time (AbortSignal.timeout over the request and the body)
 * and size (the body is read in chunks and the request cancelled past the bound), no redirects. The
 * URL is the operator's, so no address rules apply. Front50's 404 is "no such project"; anything else
 * that is not a project is FRONT50_UNAVAILABLE naming Front50's URL and what went wrong.
 */
export class Front50Client implements ProjectSource {
  private readonly base: string;

  constructor(private readonly options: Front50ClientOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
  }

  private unavailable(url: string, why: string, cause?: unknown): ScaleAgentError {
    return new ScaleAgentError(Errors.FRONT50_UNAVAILABLE, `Front50 (${url}): ${why}`, { url }, cause === undefined ? undefined : { cause });
  }

  async project(name: string): Promise<Front50Project | undefined> {
    const url = `${this.base}/v2/projects/${encodeURIComponent(name)}`;
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    let response: Response;
    try {
      response = await fetch(url, { headers: { accept: 'application/json' }, redirect: 'error', signal });
    } catch (err) {
      throw this.unavailable(url, signal.aborted ? `no answer within ${this.options.timeoutMs} ms` : `unreachable (${causeText(err)})`, err);
    }
    let text: string;
    try {
      text = await this.boundedText(response, url);
    } catch (err) {
      if (err instanceof ScaleAgentError) throw err;
      throw this.unavailable(url, signal.aborted ? `no complete answer within ${this.options.timeoutMs} ms` : `the answer broke off (${causeText(err)})`, err);
    }
    if (response.status === HTTP_NOT_FOUND) return undefined;
    if (!response.ok) throw this.unavailable(url, `answered ${response.status}${messageOf(text)}`);
    let raw: unknown;
    try {
      raw = text.trim() === '' ? null : JSON.parse(text);
    } catch (err) {
      throw this.unavailable(url, `the answer is not JSON (${errorMessage(err)})`, err);
    }
    // Clouddriver's ProjectController answers 404 when Front50 gives it no project at all.
    if (raw === null) return undefined;
    try {
      return parseProject(raw, name);
    } catch (err) {
      throw this.unavailable(url, `the project is malformed: ${errorMessage(err)}`, err);
    }
  }

  /** The body as text, refused past maxResponseBytes (by its Content-Length, or while reading it). */
  private async boundedText(response: Response, url: string): Promise<string> {
    const max = this.options.maxResponseBytes;
    const tooLarge = () => this.unavailable(url, `the answer is larger than front50.maxResponseBytes (${max} bytes)`);
    const declared = Number(response.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > max) {
      await response.body?.cancel().catch(() => undefined);
      throw tooLarge();
    }
    if (response.body === null) return '';
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > max) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge();
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}

/** Node's fetch hides the reason (ECONNREFUSED, a redirect) in `cause`. */
function causeText(err: unknown): string {
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  return cause === undefined ? errorMessage(err) : `${errorMessage(err)}: ${errorMessage(cause)}`;
}

/** Spring's error body names what went wrong in `message`; a short quote of it helps the operator. */
const QUOTED_MESSAGE_MAX = 200;

function messageOf(text: string): string {
  try {
    const body = JSON.parse(text) as unknown;
    if (isObject(body) && typeof body.message === 'string' && body.message !== '') return `: ${body.message.slice(0, QUOTED_MESSAGE_MAX)}`;
  } catch {
    // not JSON: the status says enough
  }
  return '';
}
