import { Errors, ScaleAgentError } from '../common/errors.ts';
import { HTTP_FORBIDDEN, HTTP_GONE, HTTP_NOT_FOUND, HTTP_TOO_MANY_REQUESTS, HTTP_UNAUTHORIZED } from '../common/http-status.ts';

/** A Kubernetes `Status` object: what the API server returns with every failure (and in watch ERROR events). */
export interface KubeStatus {
  kind?: string;
  apiVersion?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; causes?: { reason?: string; message?: string; field?: string }[]; retryAfterSeconds?: number };
}

/** The fields a KUBE_API_ERROR's `details` always holds. */
export interface KubeApiErrorDetails {
  /** The HTTP status (or the `code` of an in-stream ERROR event). */
  status: number;
  reason: string;
  /** The parsed Status body, when the body was one. */
  kubeStatus?: KubeStatus;
  method?: string;
  path?: string;
  /** From Retry-After or the Status details (429, some 5xx). */
  retryAfterSeconds?: number;
}

/** Error bodies that are not JSON are quoted in the message up to this length. */
const MAX_QUOTED_BODY_CHARS = 300;

/** Parses a body as a Status, tolerating anything (HTML from a proxy, empty bodies, garbage). */
export function parseStatus(body: Buffer | string | unknown): KubeStatus | undefined {
  let value: unknown = body;
  if (Buffer.isBuffer(body) || typeof body === 'string') {
    try {
      value = JSON.parse(body.toString());
    } catch {
      return undefined;
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const status = value as KubeStatus;
  return status.kind === 'Status' || typeof status.reason === 'string' || typeof status.code === 'number' ? status : undefined;
}

/** Builds the KUBE_API_ERROR for a failed response, with the HTTP status and the parsed Status. */
export function kubeApiError(
  status: number,
  body: Buffer | string | unknown,
  context: { method?: string; path?: string; retryAfter?: string | undefined } = {},
): ScaleAgentError {
  const kubeStatus = parseStatus(body);
  const reason = kubeStatus?.reason ?? reasonForStatus(status);
  let text = kubeStatus?.message;
  if (text === undefined && (Buffer.isBuffer(body) || typeof body === 'string')) text = body.toString().trim().slice(0, MAX_QUOTED_BODY_CHARS);
  const where = context.method && context.path ? `${context.method} ${context.path}: ` : '';
  const details: KubeApiErrorDetails = { status, reason };
  if (kubeStatus !== undefined) details.kubeStatus = kubeStatus;
  if (context.method !== undefined) details.method = context.method;
  if (context.path !== undefined) details.path = context.path;
  const retryAfter = parseRetryAfter(context.retryAfter) ?? kubeStatus?.details?.retryAfterSeconds;
  if (retryAfter !== undefined) details.retryAfterSeconds = retryAfter;
  return new ScaleAgentError(Errors.KUBE_API_ERROR, `${where}${status} ${reason}${text ? `: ${text}` : ''}`, { ...details });
}

/** Retry-After in seconds (the delta-seconds form; the HTTP-date form is converted). */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || value === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/** The HTTP status of a KUBE_API_ERROR, or undefined for anything else. */
export function apiErrorStatus(err: unknown): number | undefined {
  if (!(err instanceof ScaleAgentError) || err.code !== Errors.KUBE_API_ERROR.code) return undefined;
  const status = err.details.status;
  return typeof status === 'number' ? status : undefined;
}

/** True for "your resourceVersion is too old" in either form: HTTP 410 or a Status with reason Expired/Gone. */
export function isExpiredError(err: unknown): boolean {
  if (apiErrorStatus(err) === HTTP_GONE) return true;
  const reason = err instanceof ScaleAgentError ? err.details.reason : undefined;
  return reason === 'Expired' || reason === 'Gone';
}

export { HTTP_FORBIDDEN, HTTP_GONE, HTTP_NOT_FOUND, HTTP_TOO_MANY_REQUESTS, HTTP_UNAUTHORIZED };

function reasonForStatus(status: number): string {
  switch (status) {
    case 400:
      return 'BadRequest';
    case HTTP_UNAUTHORIZED:
      return 'Unauthorized';
    case HTTP_FORBIDDEN:
      return 'Forbidden';
    case HTTP_NOT_FOUND:
      return 'NotFound';
    case 405:
      return 'MethodNotAllowed';
    case 409:
      return 'Conflict';
    case HTTP_GONE:
      return 'Expired';
    case 415:
      return 'UnsupportedMediaType';
    case 422:
      return 'Invalid';
    case HTTP_TOO_MANY_REQUESTS:
      return 'TooManyRequests';
    case 500:
      return 'InternalError';
    case 503:
      return 'ServiceUnavailable';
    case 504:
      return 'Timeout';
    default:
      return 'Unknown';
  }
}
