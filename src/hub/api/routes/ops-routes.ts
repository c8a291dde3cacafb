import type { FastifyInstance } from 'fastify';
import type { TaskRecord } from '../../store/types.ts';
import { handlerFor, parseOpsRequest } from '../ops/parse-request.ts';
import type { Query, RouteContext } from './route-context.ts';

interface TaskReference {
  id: string;
  resourceUri: string;
}

function reference(task: TaskRecord): TaskReference {
  return { id: task.id, resourceUri: `/task/${task.id}` };
}

/**
 * POST /kubernetes/ops (and Clouddriver's aliases). `clientRequestId` makes the POST idempotent: a
 * repeat returns the task already started for it, unless that one failed retryably.
 */
export function opsRoutes(app: FastifyInstance, { store, tasks }: RouteContext): void {
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
    app.post(prefix, async (request) => submit(request.body, (request.query as Query).clientRequestId));
    app.post<{ Params: { op: string } }>(`${prefix}/:op`, async (request) => {
      const handler = handlerFor(request.params.op);
      return submit([{ [handler.name]: request.body }], (request.query as Query).clientRequestId);
    });
  }
}
