import type { FastifyInstance } from 'fastify';
import { ResourceGraph } from '../../views/graph.ts';
import { ViewModels } from '../../views/models.ts';
import { notFound } from '../http-errors.ts';
import { consoleOutput } from '../responses/console-output.ts';
import { isKubernetes } from './cloud-provider.ts';
import { queryOf, type RouteContext } from './route-context.ts';
import type { ObjectParams } from './view-params.ts';

/** Clouddriver's instances (Pods): one from the cache, and its console output read live through the agent. */
export function instanceRoutes(app: FastifyInstance, { store, router, views: loader }: RouteContext): void {
  app.get<{ Params: ObjectParams }>('/instances/:account/:region/:name', async (request) => {
    const { account, region, name } = request.params;
    const pod = (await loader.one(account, region, name, 'instances'))?.resource;
    if (!pod) throw notFound(`Instance not found (id: ${name})`, { account, region, name });
    return new ViewModels(new ResourceGraph([pod])).instance(pod);
  });

  app.get<{ Params: ObjectParams }>('/instances/:account/:region/:name/console', async (request) => {
    const { account, region, name } = request.params;
    const query = queryOf(request.query);
    if (!isKubernetes(query.cloudProvider ?? query.provider)) throw notFound(`Instance not found (id: ${name})`, { account, region, name });
    const output = await consoleOutput(store, router, account, region, name);
    if (!output) throw notFound(`Instance not found (id: ${name})`, { account, region, name });
    return { output };
  });
}
