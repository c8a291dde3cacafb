import type { FastifyInstance } from 'fastify';
import type { TaskRecord } from '../../store/types.ts';
import { handlerFor, parseOpsRequest } from '../ops/parse-request.ts';
import { requestAccounts } from '../../auth/request-accounts.ts';
import { queryOf, type RouteContext } from './route-context.ts';

export interface TaskReference {
  id: string;
  resourceUri: string;
}

export function reference(task: Pick<TaskRecord, 'id'>): TaskReference {
  return { id: task.id, resourceUri: `/task/${task.id}` };
}

/**
 * POST /kubernetes/ops, /ops, and the single-operation forms /kubernetes/ops/{op}, /ops/{op}.
 * `clientRequestId` makes the POST idempotent (Clouddriver's orchestration processor): a repeat returns
 * the task already started for it; if that task failed retryably, it runs again under the same id with
 * the repeated request's operations.
 */
export function opsRoutes(app: FastifyInstance, { store, tasks, auth }: RouteContext): void {
  // Concurrent repeats of one request on this replica wait for the first instead of racing it.
  const inFlight = new Map<string, Promise<TaskRecord>>();

  async function submit(body: unknown, requestId: string | undefined): Promise<TaskReference> {
    if (requestId === undefined || requestId === '') {
      const ops = await parseOpsRequest(body, store);
      return reference(await tasks.start(ops, body, null));
    }
    const pending = inFlight.get(requestId);
    if (pending) return reference(await pending);
    const started = (async () => {
      const existing = await store.findTaskByRequestId(requestId);
      if (existing && existing.state !== 'FAILED_RETRYABLE') return existing;
      const ops = await parseOpsRequest(body, store);
      if (existing) {
        const retried = await tasks.retry(existing, ops, body, `clientRequestId ${requestId} submitted again`);
        if (retried) return retried;
        return (await store.getTask(existing.id)) ?? existing;
      }
      return tasks.start(ops, body, requestId);
    })();
    inFlight.set(requestId, started);
    try {
      return reference(await started);
    } finally {
      inFlight.delete(requestId);
    }
  }

  for (const prefix of ['/kubernetes/ops', '/ops']) {
    // WRITE on every account of the request before anything else (no task, no clientRequestId lookup).
    app.post(prefix, async (request) => {
      await auth.requireWrite(request, requestAccounts(request.body));
      return submit(request.body, queryOf(request.query).clientRequestId);
    });
    app.post<{ Params: { op: string } }>(`${prefix}/:op`, async (request) => {
      const handler = handlerFor(request.params.op);
      const body = [{ [handler.name]: request.body }];
      await auth.requireWrite(request, requestAccounts(body));
      return submit(body, queryOf(request.query).clientRequestId);
    });
  }
}
