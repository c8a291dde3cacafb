import type { FastifyInstance } from 'fastify';
import { Errors, ScaleAgentError } from '../../../common/errors.ts';
import type { TaskRecord } from '../../store/types.ts';
import { requestInvalid } from '../http-errors.ts';
import { isObject } from '../ops/fields.ts';
import { parseOpsRequest } from '../ops/parse-request.ts';
import { notRetryable } from '../ops/task-runner.ts';
import { taskView } from '../ops/task-view.ts';
import { reference } from './ops-routes.ts';
import { requestAccounts, taskAccounts } from '../ops/request-accounts.ts';
import { limitParam, queryOf, type RouteContext } from './route-context.ts';

const DEFAULT_TASK_LIST = 100;
const MAX_TASK_LIST = 1000;
const RESUME_SUFFIX = ':resume';

/**
 * The task endpoints Orca and Deck use: GET /task/{id} (MonitorKatoTask polls it), GET /task, and the
 * Kubernetes task controls of Orca's forced retry — GET /kubernetes/task/{id}/owner, PATCH
 * /kubernetes/task/{id} {retry} (fail it now, retryably or not), POST /kubernetes/task/{id}/restart
 * (run new operations under the task), and POST /task/{id}:resume (run a retryably failed task again).
 */
export function taskRoutes(app: FastifyInstance, { store, tasks, auth }: RouteContext): void {
  async function getTask(id: string): Promise<TaskRecord> {
    const task = await store.getTask(id);
    if (!task) throw new ScaleAgentError(Errors.TASK_NOT_FOUND, `task ${id} not found`, { taskId: id });
    return task;
  }

  app.get<{ Params: { id: string } }>('/task/:id', async (request) => taskView(await getTask(request.params.id)));

  app.get('/task', async (request) => {
    const limit = limitParam(queryOf(request.query).limit, DEFAULT_TASK_LIST, MAX_TASK_LIST);
    return (await store.listTasks(limit)).map(taskView);
  });

  // POST /task/{id}:resume — the colon is part of the last path segment.
  app.post<{ Params: { idAction: string } }>('/task/:idAction', async (request) => {
    const segment = request.params.idAction;
    if (!segment.endsWith(RESUME_SUFFIX)) throw new ScaleAgentError(Errors.NOT_FOUND, `No handler found for POST ${request.url}`);
    const task = await getTask(segment.slice(0, -RESUME_SUFFIX.length));
    await auth.requireWrite(request, taskAccounts(task));
    if (task.state !== 'FAILED_RETRYABLE') throw notRetryable(task);
    const ops = await parseOpsRequest(task.request, store);
    const resumed = await tasks.retry(task, ops, task.request, 'resumed on request');
    if (!resumed) throw notRetryable((await store.getTask(task.id)) ?? task);
    return reference(resumed);
  });

  // Orca's forced-retry check asks which Clouddriver runs a task.
  app.get<{ Params: { id: string } }>('/kubernetes/task/:id/owner', async (request) => ({ name: (await getTask(request.params.id)).ownerHubId }));

  app.patch<{ Params: { id: string } }>('/kubernetes/task/:id', async (request) => {
    const body = request.body;
    if (!isObject(body) || typeof body.retry !== 'boolean') {
      throw new ScaleAgentError(
        Errors.OPERATION_UNSUPPORTED,
        `Patching task id: ${request.params.id} with the provided inputs is not supported (send {"retry": true|false})`,
      );
    }
    const task = await getTask(request.params.id);
    await auth.requireWrite(request, taskAccounts(task));
    await tasks.markFailed(task, body.retry);
    return reference(task);
  });

  app.post<{ Params: { id: string } }>('/kubernetes/task/:id/restart', async (request) => {
    const task = await getTask(request.params.id);
    await auth.requireWrite(request, taskAccounts(task));
    if (task.state !== 'FAILED_RETRYABLE') throw notRetryable(task);
    if (!Array.isArray(request.body)) throw requestInvalid('expected the operations to run, a JSON array like [{"deployManifest": {…}}]');
    await auth.requireWrite(request, requestAccounts(request.body));
    const ops = await parseOpsRequest(request.body, store);
    const restarted = await tasks.retry(task, ops, request.body, 'restarted with new operations');
    if (!restarted) throw notRetryable((await store.getTask(task.id)) ?? task);
    return reference(restarted);
  });
}
