import type { FastifyInstance } from 'fastify';
import { Errors, ScaleAgentError } from '../../../common/errors.ts';
import { taskView } from '../ops/task-view.ts';
import { limitParam, type Query, type RouteContext } from './route-context.ts';

const DEFAULT_TASK_LIST = 100;
const MAX_TASK_LIST = 1000;

export function taskRoutes(app: FastifyInstance, { store }: RouteContext): void {
  async function getTask(id: string) {
    const task = await store.getTask(id);
    if (!task) throw new ScaleAgentError(Errors.TASK_NOT_FOUND, `task ${id} not found`, { taskId: id });
    return task;
  }

  app.get<{ Params: { id: string } }>('/task/:id', async (request) => taskView(await getTask(request.params.id)));

  app.get('/task', async (request) => {
    const limit = limitParam((request.query as Query).limit, DEFAULT_TASK_LIST, MAX_TASK_LIST);
    const list = store.listTasks ? await store.listTasks(limit) : [];
    return list.map(taskView);
  });

  // Orca's forced-retry check asks which Clouddriver runs a task.
  app.get<{ Params: { id: string } }>('/kubernetes/task/:id/owner', async (request) => ({ name: (await getTask(request.params.id)).ownerHubId }));
}
