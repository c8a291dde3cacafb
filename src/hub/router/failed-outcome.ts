import type { ErrorCode } from '../../common/errors.ts';
import type { OperationOutcome, OperationTimings } from './types.ts';

/** The hops an operation had made when it failed without an agent's answer. */
export type HopTimings = Pick<OperationTimings, 'receivedAt' | 'routedAt' | 'sentAt'>;

/** An outcome no agent reported: the hub's own failure (no agent, deadline, agent gone, relay lost). */
export function failedOutcome(id: string, account: string, code: ErrorCode, message: string, timings: HopTimings, now = Date.now()): OperationOutcome {
  return {
    id,
    account,
    httpStatus: 0,
    errorCode: code,
    message,
    body: null,
    written: [],
    timings: { ...timings, startedAt: null, finishedAt: null, syncedAt: null, resultAt: now },
    cacheSynced: false,
  };
}
