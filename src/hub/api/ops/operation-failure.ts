import { STATUS_CODES } from 'node:http';
import type { OperationOutcome } from '../../router/types.ts';
import { isObject } from './fields.ts';

/** An operation that ran and failed; the task records it as an EXCEPTION result object. */
export class OperationFailure extends Error {
  constructor(
    message: string,
    /** Stable code of what failed (KUBE_API_ERROR, ACCOUNT_NOT_CONNECTED, …). */
    readonly code: string,
    readonly httpStatus: number,
  ) {
    super(message);
    this.name = 'OperationFailure';
  }
}

const HTTP_CLIENT_ERROR = 400;
const KUBE_API_ERROR = 'KUBE_API_ERROR';

export function outcomeFailed(outcome: OperationOutcome): boolean {
  return outcome.errorCode !== null || outcome.httpStatus >= HTTP_CLIENT_ERROR;
}

/** "422 Invalid: Deployment.apps \"nginx\" is invalid: …" from the API server's Status, or "CODE: message". */
export function describeOutcome(outcome: OperationOutcome): string {
  const status = isObject(outcome.body) ? outcome.body : undefined;
  const message = (typeof status?.message === 'string' && status.message !== '' ? status.message : outcome.message) || 'no message';
  if (outcome.httpStatus > 0) {
    const reason = typeof status?.reason === 'string' && status.reason !== '' ? status.reason : (STATUS_CODES[outcome.httpStatus] ?? 'Error');
    return `${outcome.httpStatus} ${reason}: ${message}`;
  }
  return `${outcome.errorCode ?? 'ERROR'}: ${message}`;
}

export function failureFrom(prefix: string, outcome: OperationOutcome): OperationFailure {
  return new OperationFailure(`${prefix}: ${describeOutcome(outcome)}`, outcome.errorCode ?? KUBE_API_ERROR, outcome.httpStatus);
}
