import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Errors, ScaleAgentError } from '../../../common/errors.ts';
import type { TaskRecord } from '../../store/types.ts';
import { handlerFor, parseOps, parseOpsRequest } from '../ops/parse-request.ts';
import { holdsRedactedSecrets } from '../ops/secret-redaction.ts';
import { requestAccounts, taskAccounts } from '../ops/request-accounts.ts';
import { queryOf, type RouteContext } from './route-context.ts';

export interface TaskReference {
  id: string;
  resourceUri: string;
}

export function reference(task: Pick<TaskRecord, 'id'>): TaskReference {
  return { id: task.id, resourceUri: `/task/${task.id}` };
}

/**
 * What a request does, to compare a repeated clientRequestId with its task: each operation with its
 * account, in order. Throws REQUEST_INVALID for a malformed body.
 */
function operationsOf(body: unknown): string {
  return parseOps(body)
    .map((op) => `${op.handler.name} on ${op.parsed.account}`)
    .join(', ');
}

/** The same for a stored task's request; undefined when it no longer parses. */
function storedOperationsOf(task: TaskRecord): string | undefined {
  try {
    return operationsOf(task.request);
  } catch {
    return undefined;
  }
}

function requestIdConflict(requestId: string, message: string, details: Record<string, unknown> = {}): ScaleAgentError {
  return new ScaleAgentError(Errors.TASK_REQUEST_ID_CONFLICT, `clientRequestId ${requestId} ${message}`, { requestId, ...details });
}

/**
 * POST /kubernetes/ops, /ops, and the single-operation forms /kubernetes/ops/{op}, /ops/{op}.
 * `clientRequestId` makes the POST idempotent (Clouddriver's orchestration processor): a repeat returns
 * the task already started for it; if that task failed retryably, it runs again under the same id with
 * the repeated request's operations.
 *
 * Unlike Clouddriver, whose request ids are one global namespace, a request id here is scoped to its
 * caller (the task records who created it, `RouteAuth.taskCreator`): another caller's request with the
 * same id is a request of its own and gets a task of its own. Orca derives the id from the stage, its
 * start time and the payload (KatoService.requestId), so its repeats and resumes always come from the
 * same execution — the same user, the same operations — and still find their task. Scoping rather than
 * refusing means that knowing (or guessing) someone's request id neither reaches their task — resumes
 * it, runs other operations under it, returns or reveals it — nor blocks them from using it. A repeat
 * by the same caller must name the same operations on the same accounts as the task (a request id
 * stands for one request); otherwise it is a 409 TASK_REQUEST_ID_CONFLICT and the task is left alone.
 * So is, while auth is on, a task stored before creators were recorded: nobody can prove it is theirs.
 * Running a retryably failed task again needs WRITE on every account of the stored task, as
 * POST /task/{id}:resume does.
 */
export function opsRoutes(app: FastifyInstance, { store, tasks, auth }: RouteContext): void {
  // Concurrent repeats of one caller's request on this replica wait for the first instead of racing it.
  const inFlight = new Map<string, { operations: string; task: Promise<TaskRecord> }>();

  async function submit(request: FastifyRequest, body: unknown, requestId: string | undefined): Promise<TaskReference> {
    const createdBy = auth.taskCreator(request);
    if (requestId === undefined || requestId === '') {
      const ops = await parseOpsRequest(body, store);
      return reference(await tasks.start(ops, body, null, createdBy));
    }
    const operations = operationsOf(body);
    const key = `${createdBy}\n${requestId}`;
    const pending = inFlight.get(key);
    if (pending) {
      if (pending.operations !== operations) {
        throw requestIdConflict(
          requestId,
          `is in use by a request for ${pending.operations} still being accepted; this one names ${operations}. Use a new clientRequestId for a different request`,
        );
      }
      return reference(await pending.task);
    }
    const task = (async () => {
      const existing = await store.findTaskByRequestId(requestId, createdBy);
      if (!existing) return tasks.start(await parseOpsRequest(body, store), body, requestId, createdBy);
      if ((existing.createdBy ?? null) === null && auth.enabled) {
        // Stored before the hub recorded creators: it may be anyone's, so it is neither returned nor run.
        throw requestIdConflict(
          requestId,
          'belongs to a task stored before the hub recorded who creates tasks, so it cannot be returned or resumed by clientRequestId; use a new clientRequestId (a task that failed retryably can still be resumed with POST /task/{id}:resume)',
        );
      }
      const stored = storedOperationsOf(existing);
      // A request stored without its Secret values may no longer parse (a redacted artifact); it is the
      // caller's own task all the same, and never retryable: answer with it.
      if (stored === undefined && holdsRedactedSecrets(existing.request)) return existing;
      if (stored !== operations) {
        throw requestIdConflict(
          requestId,
          `is already used by task ${existing.id} for ${stored ?? 'a request this hub cannot read'}; this request names ${operations}. Use a new clientRequestId for a different request`,
          { taskId: existing.id },
        );
      }
      if (existing.state !== 'FAILED_RETRYABLE') return existing;
      await auth.requireWrite(request, taskAccounts(existing));
      const ops = await parseOpsRequest(body, store);
      const retried = await tasks.retry(existing, ops, body, `clientRequestId ${requestId} submitted again`);
      if (retried) return retried;
      return (await store.getTask(existing.id)) ?? existing;
    })();
    inFlight.set(key, { operations, task });
    try {
      return reference(await task);
    } finally {
      inFlight.delete(key);
    }
  }

  for (const prefix of ['/kubernetes/ops', '/ops']) {
    // WRITE on every account of the request before anything else (no task, no clientRequestId lookup).
    app.post(prefix, async (request) => {
      await auth.requireWrite(request, requestAccounts(request.body));
      return submit(request, request.body, queryOf(request.query).clientRequestId);
    });
    app.post<{ Params: { op: string } }>(`${prefix}/:op`, async (request) => {
      const handler = handlerFor(request.params.op);
      const body = [{ [handler.name]: request.body }];
      await auth.requireWrite(request, requestAccounts(body));
      return submit(request, body, queryOf(request.query).clientRequestId);
    });
  }
}
