import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Errors, ScaleAgentError, errorMessage } from '../common/errors.ts';

/*
 * The hub's REST API as the operator commands call it, authenticated as docs/security.md describes: a
 * bearer token (auth.tokens), or a user name in the trusted Gate's header (auth.trustedGate), with any
 * extra header a proxy in front of the hub wants (its shared secret).
 */

/** Clouddriver's REST port on this machine: where `scale-agent hub` listens by default. */
export const DEFAULT_HUB_URL = 'http://localhost:7002';
/** Environment variables the options fall back to, so that a token stays out of the shell history. */
export const HUB_URL_ENV = 'SCALE_AGENT_HUB';
export const HUB_TOKEN_ENV = 'SCALE_AGENT_TOKEN';
/** The trusted Gate's user header (auth.trustedGate.header's default). */
const USER_HEADER = 'X-SPINNAKER-USER';
/** How long one call may take before the command gives up (an import of thousands of accounts included). */
const REQUEST_TIMEOUT_MS = 120_000;

export interface HubConnectionFlags {
  hub: string;
  token?: string;
  tokenFile?: string;
  user?: string;
  header: string[];
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Adds --hub and the authentication options to a command. */
export function withHubConnection(command: Command): Command {
  return command
    .option('--hub <url>', `the hub's REST API (or $${HUB_URL_ENV})`, process.env[HUB_URL_ENV] ?? DEFAULT_HUB_URL)
    .option('--token <token>', `bearer token (auth.tokens), or $${HUB_TOKEN_ENV}`)
    .option('--token-file <file>', 'file holding the bearer token')
    .option('--user <name>', `user name sent in ${USER_HEADER} (through a trusted Gate's address, auth.trustedGate)`)
    .option('--header <name:value>', 'extra header, e.g. a trusted Gate shared secret (repeatable)', collect, [] as string[]);
}

/** The hub's answer to one call. */
export interface HubAnswer {
  status: number;
  body: unknown;
}

export class HubRestClient {
  private readonly base: string;
  private readonly headers: Record<string, string>;

  constructor(flags: HubConnectionFlags, env: NodeJS.ProcessEnv = process.env) {
    this.base = flags.hub.replace(/\/+$/, '');
    this.headers = {};
    const token = flags.tokenFile !== undefined ? readToken(flags.tokenFile) : (flags.token ?? env[HUB_TOKEN_ENV]);
    if (token !== undefined && token !== '') this.headers.authorization = `Bearer ${token}`;
    if (flags.user !== undefined) this.headers[USER_HEADER] = flags.user;
    for (const header of flags.header) {
      const colon = header.indexOf(':');
      if (colon <= 0) throw new ScaleAgentError(Errors.REQUEST_INVALID, `--header ${header}: expected name:value`);
      this.headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
    }
  }

  /** One call; the body is sent as JSON, or as YAML text when it is a string. Never throws on an HTTP status. */
  async call(method: string, path: string, body?: unknown): Promise<HubAnswer> {
    const url = `${this.base}${path}`;
    const headers: Record<string, string> = { ...this.headers, accept: 'application/json' };
    let payload: string | undefined;
    if (typeof body === 'string') {
      headers['content-type'] = 'application/yaml';
      payload = body;
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    let response: Response;
    try {
      response = await fetch(url, { method, headers, body: payload, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      throw new ScaleAgentError(Errors.HUB_UNREACHABLE, `cannot reach the hub at ${this.base}: ${errorMessage(cause ?? err)}`, { hub: this.base });
    }
    const text = await response.text();
    if (text === '') return { status: response.status, body: undefined };
    try {
      return { status: response.status, body: JSON.parse(text) as unknown };
    } catch {
      throw new ScaleAgentError(Errors.HUB_UNREACHABLE, `${method} ${url} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`, {
        hub: this.base,
      });
    }
  }

  /** A call that must succeed: any other status becomes the hub's error, with its code and message. */
  async expect(method: string, path: string, body: unknown, ...statuses: number[]): Promise<HubAnswer> {
    const answer = await this.call(method, path, body);
    if (!statuses.includes(answer.status)) throw hubError(method, path, answer);
    return answer;
  }
}

/** The hub's error body ({code, message}) as an error the CLI prints with its code. */
export function hubError(method: string, path: string, answer: HubAnswer): ScaleAgentError {
  const body = (answer.body ?? {}) as { code?: unknown; message?: unknown };
  const code = typeof body.code === 'string' ? body.code : `HTTP_${answer.status}`;
  const message = typeof body.message === 'string' ? body.message : `${method} ${path} answered ${answer.status}`;
  return new ScaleAgentError({ code, httpStatus: answer.status }, message, { status: answer.status });
}

function readToken(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ScaleAgentError(Errors.CONFIG_FILE_UNREADABLE, `cannot read the token file ${file}: ${errorMessage(err)}`, { path: file });
  }
}
