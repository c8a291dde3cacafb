import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Errors, ScaleAgentError, errorMessage } from '../../common/errors.ts';

/** A Vault call that has not answered by then is hung (the Vault CLI's client waits 60 s; an agent should not). */
export const VAULT_REQUEST_TIMEOUT_MS = 10_000;
/**
 * Answers above this are not what the agent asked for. Vault refuses to store entries above 1 MiB by
 * default (its storage backends' max entry size), so no KV read is larger.
 */
export const VAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
/** Vault's error texts are quoted in messages up to this length. */
const MAX_QUOTED_ERROR_CHARS = 300;

export interface VaultHttpOptions {
  /** The server, e.g. https://vault.example.com:8200 (a path prefix is kept). */
  url: string;
  /** Vault Enterprise namespace, sent as X-Vault-Namespace on every call. */
  namespace?: string;
  timeoutMs?: number;
  maxResponseBytes?: number;
}

export interface VaultCall {
  method: 'GET' | 'POST';
  /** Below /v1/, already encoded, e.g. `secret/data/spinnaker`. */
  path: string;
  token?: string;
  body?: object;
}

export interface VaultAnswer {
  status: number;
  /** The parsed JSON body (undefined when empty). */
  body: unknown;
}

export function vaultUnavailable(message: string, details: Record<string, unknown> = {}): ScaleAgentError {
  return new ScaleAgentError(Errors.SECRET_UNAVAILABLE, message, details);
}

/** Vault's error texts from a failed answer (`{"errors": [...]}`), joined; never a secret. */
export function vaultErrors(answer: VaultAnswer): string {
  const errors = (answer.body as { errors?: unknown } | undefined)?.errors;
  const texts = Array.isArray(errors) ? errors.filter((e): e is string => typeof e === 'string') : [];
  const joined = texts.join('; ').slice(0, MAX_QUOTED_ERROR_CHARS);
  return joined === '' ? `HTTP ${answer.status}` : `HTTP ${answer.status}: ${joined}`;
}

/**
 * One JSON call to Vault's HTTP API, bounded in time and size. Transport failures, timeouts, oversized
 * or non-JSON answers throw SECRET_UNAVAILABLE naming the call (never the token or a body); any HTTP
 * status is returned for the caller to judge.
 */
export function vaultRequest(options: VaultHttpOptions, call: VaultCall): Promise<VaultAnswer> {
  const timeoutMs = options.timeoutMs ?? VAULT_REQUEST_TIMEOUT_MS;
  const maxBytes = options.maxResponseBytes ?? VAULT_MAX_RESPONSE_BYTES;
  const base = new URL(options.url);
  const url = new URL(`${base.pathname.replace(/\/+$/, '')}/v1/${call.path}`, base);
  const what = `Vault ${call.method} /v1/${call.path}`;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (call.token !== undefined) headers['x-vault-token'] = call.token;
  if (options.namespace !== undefined) headers['x-vault-namespace'] = options.namespace;
  const payload = call.body === undefined ? undefined : JSON.stringify(call.body);
  if (payload !== undefined) headers['content-type'] = 'application/json';
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<VaultAnswer>((resolve, reject) => {
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      req.destroy();
      reject(vaultUnavailable(`${what}: ${message}`, { url: base.origin, path: call.path }));
    };
    const req = send(url, { method: call.method, headers, timeout: timeoutMs }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) fail(`the answer is larger than ${maxBytes} bytes`);
        else chunks.push(chunk);
      });
      res.on('error', (err) => fail(errorMessage(err)));
      res.on('end', () => {
        if (settled) return;
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = text.trim() === '' ? undefined : JSON.parse(text);
        } catch {
          fail(`HTTP ${res.statusCode}: the answer is not JSON`);
          return;
        }
        settled = true;
        clearTimeout(deadline);
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    // The socket timeout catches a silent server; the deadline a slow trickle.
    const deadline = setTimeout(() => fail(`no complete answer within ${timeoutMs} ms`), timeoutMs);
    deadline.unref();
    req.on('timeout', () => fail(`no answer within ${timeoutMs} ms`));
    req.on('error', (err) => {
      clearTimeout(deadline);
      fail(`cannot reach ${base.origin}: ${errorMessage(err)}`);
    });
    req.on('close', () => clearTimeout(deadline));
    req.end(payload);
  });
}
