import type { FastifyInstance } from 'fastify';
import { LOAD_BALANCER_KINDS } from '../../views/kinds.ts';
import { ownOf } from '../../views/loader.ts';
import { ViewModels } from '../../views/models.ts';
import { byName, keyOf, type Resource } from '../../views/resource.ts';
import { isKubernetes, noCloudProvider } from './cloud-provider.ts';
import type { RouteContext } from './route-context.ts';
import type { AppParams, ObjectParams } from './view-params.ts';

/** Clouddriver's load balancers (Services and Ingresses), served from the cache, with the server groups behind them. */
export function loadBalancerRoutes(app: FastifyInstance, { views: loader }: RouteContext): void {
  app.get<{ Params: AppParams }>('/applications/:app/loadBalancers', async (request) => {
    // The application's Services and Ingresses, with every server group behind them: Clouddriver relates
    // a Service to the ReplicaSets its selector matches in its namespace, whatever their application.
    const loaded = await loader.application({ application: request.params.app, kinds: LOAD_BALANCER_KINDS, services: true });
    const loadBalancers = ownOf(loaded, 'loadBalancers');
    await loader.addNamespaceServerGroups(loaded.graph, loadBalancers);
    const behind = new Map<string, Resource>();
    for (const lb of loadBalancers) for (const sg of loaded.graph.serverGroupsBehind(lb)) behind.set(keyOf(sg), sg);
    await loader.addPods(loaded.graph, [...behind.values()]);
    const models = new ViewModels(loaded.graph);
    return loadBalancers.map((lb) => models.loadBalancer(lb)).sort(byName);
  });

  app.get<{ Params: { provider: string } }>('/:provider/loadBalancers', async (request) => {
    if (!isKubernetes(request.params.provider)) throw noCloudProvider(request.params.provider);
    return [];
  });

  app.get<{ Params: ObjectParams & { provider: string } }>('/:provider/loadBalancers/:account/:region/:name', async (request) => {
    const { provider, account, region, name } = request.params;
    if (!isKubernetes(provider)) throw noCloudProvider(provider);
    const found = await loader.loadBalancer(account, region, name);
    return found ? [new ViewModels(found.graph).loadBalancer(found.loadBalancer)] : [];
  });
}
