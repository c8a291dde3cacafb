import { STATUS_CODES } from 'node:http';
import { Errors } from '../../../common/errors.ts';
import { HTTP_BAD_REQUEST } from '../../../common/http-status.ts';
import type { OperationOutcome } from '../../router/types.ts';
import { isObject } from './fields.ts';

/** What the API server said about a failed call: its Status, as the task's EXCEPTION shows it. */
export interface KubernetesStatusDetails {
  reason?: string;
  message?: string;
  causes?: Array<{ reason?: string; message?: string; field?: string }>;
}

/** Codes of failures that say nothing about the request itself: the same request may well succeed later. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  Errors.ACCOUNT_NOT_CONNECTED.code,
  Errors.ACCOUNT_CLUSTER_UNREACHABLE.code,
  Errors.OPERATION_AGENT_GONE.code,
  Errors.OPERATION_OUTCOME_UNKNOWN.code,
  Errors.OPERATION_DEADLINE_EXCEEDED.code,
  Errors.KUBE_TRANSPORT_ERROR.code,
  Errors.KUBE_TIMEOUT.code,
  Errors.TASK_INTERRUPTED.code,
]);
/** API server answers that are about the server's state, not the request (overload, unavailable). */
const TRANSIENT_HTTP: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

/** An operation that ran and failed; the task records it as an EXCEPTION result object. */
export class OperationFailure extends Error {
  constructor(
    message: string,
    /** Stable code of what failed (KUBE_API_ERROR, ACCOUNT_NOT_CONNECTED, OPERATION_INVALID, …). */
    readonly code: string,
    /** The API server's HTTP status; 0 when the failure did not come from it. */
    readonly httpStatus: number,
    readonly kubernetes?: KubernetesStatusDetails,
  ) {
    super(message);
    this.name = 'OperationFailure';
  }

  /** Whether the failure is about circumstances (agent, network, server load) rather than the request. */
  get transient(): boolean {
    return TRANSIENT_CODES.has(this.code) || TRANSIENT_HTTP.has(this.httpStatus);
  }
}

/** A failure of the operation's own logic (nothing was sent, or what was sent cannot work). */
export function invalidOperation(message: string): OperationFailure {
  return new OperationFailure(message, Errors.OPERATION_INVALID.code, 0);
}

export function outcomeFailed(outcome: OperationOutcome): boolean {
  return outcome.errorCode !== null || outcome.httpStatus >= HTTP_BAD_REQUEST; // any 4xx or 5xx
}

function statusOf(outcome: OperationOutcome): KubernetesStatusDetails | undefined {
  const body = outcome.body;
  if (!isObject(body) || body.kind !== 'Status') return undefined;
  const out: KubernetesStatusDetails = {};
  if (typeof body.reason === 'string' && body.reason !== '') out.reason = body.reason;
  if (typeof body.message === 'string' && body.message !== '') out.message = body.message;
  const details = isObject(body.details) ? body.details : undefined;
  if (details && Array.isArray(details.causes)) {
    out.causes = details.causes.filter(isObject).map((c) => ({
      ...(typeof c.reason === 'string' ? { reason: c.reason } : {}),
      ...(typeof c.message === 'string' ? { message: c.message } : {}),
      ...(typeof c.field === 'string' ? { field: c.field } : {}),
    }));
  }
  return out;
}

/**
 * "422 Invalid: Deployment.apps \"nginx\" is invalid: spec.selector: Required value" from the API
 * server's Status (the causes are appended when its message does not already name them), or
 * "CODE: message" when no API server answered.
 */
export function describeOutcome(outcome: OperationOutcome): string {
  const status = statusOf(outcome);
  let message = status?.message ?? (outcome.message || 'no message');
  for (const cause of status?.causes ?? []) {
    const text = cause.field ? `${cause.field}: ${cause.message ?? cause.reason ?? ''}` : (cause.message ?? '');
    // The API server's message usually names its causes already ("…: spec.selector: Required value").
    if (text !== '' && !message.includes(cause.field ?? text)) message += `; ${text}`;
  }
  if (outcome.httpStatus > 0) {
    const reason = status?.reason ?? STATUS_CODES[outcome.httpStatus] ?? 'Error';
    return `${outcome.httpStatus} ${reason}: ${message}`;
  }
  return `${outcome.errorCode ?? 'ERROR'}: ${message}`;
}

export function failureFrom(prefix: string, outcome: OperationOutcome): OperationFailure {
  return new OperationFailure(`${prefix}: ${describeOutcome(outcome)}`, outcome.errorCode ?? Errors.KUBE_API_ERROR.code, outcome.httpStatus, statusOf(outcome));
}
