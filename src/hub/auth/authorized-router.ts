import { Errors } from '../../common/errors.ts';
import type { ExecuteOptions, OperationOutcome, OperationRequest, OperationRouter } from '../router/types.ts';
import { accessDenied, currentCaller } from './caller-access.ts';

/** Requests that only read the cluster (live reads for views); everything else changes it. */
const READS = new Set<OperationRequest['type']>(['get', 'list', 'logs']);

/**
 * The operation router as the REST routes see it: a live read (an object's events, a pod's logs, a Job
 * the account does not watch) needs READ on the account, anything else WRITE. Operations of tasks do not
 * pass here (the task runner holds the router itself, and POST /ops checked WRITE before the task).
 * A refusal is an outcome, like every other failure of execute().
 */
export class AuthorizedRouter implements OperationRouter {
  constructor(private readonly target: OperationRouter) {}

  async execute(account: string, request: OperationRequest, options?: ExecuteOptions): Promise<OperationOutcome> {
    const caller = currentCaller();
    const authorization = READS.has(request.type) ? 'READ' : 'WRITE';
    if (caller === undefined || !(await caller.can(account, authorization))) {
      const now = Date.now();
      const message =
        caller === undefined ? 'no authenticated caller for this operation; refusing it' : accessDenied(caller.principal, account, authorization).message;
      return {
        id: '',
        account,
        httpStatus: 403,
        errorCode: Errors.ACCESS_DENIED.code,
        message,
        body: null,
        written: [],
        timings: { receivedAt: now, routedAt: null, sentAt: null, startedAt: null, finishedAt: null, syncedAt: null, resultAt: now },
        cacheSynced: false,
      };
    }
    return this.target.execute(account, request, options);
  }

  isConnected(account: string): boolean {
    return this.target.isConnected(account);
  }
}
