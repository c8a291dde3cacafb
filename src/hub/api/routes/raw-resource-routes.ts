import type { FastifyInstance } from 'fastify';
import { rawResourceView } from '../responses/raw-resource-view.ts';
import type { RouteContext } from './route-context.ts';

/** Kinds never listed: Events are noise here, and not a resource anyone manages (Clouddriver does not cache them). */
const OMITTED_KINDS = new Set(['/Event', 'events.k8s.io/Event']);

/**
 * GET /applications/{app}/rawResources: every cached object whose moniker names the application, of any
 * kind (Clouddriver with `cacheAllApplicationRelationships`, which the Deck tab is meant for: the agents
 * stream every kind). An application with nothing is an empty list, never a 404.
 */
export function rawResourceRoutes(app: FastifyInstance, { store }: RouteContext): void {
  app.get<{ Params: { application: string } }>('/applications/:application/rawResources', async (request) => {
    const objects = await store.listObjects({ application: request.params.application });
    return objects.filter((o) => !OMITTED_KINDS.has(`${o.group}/${o.kind}`)).map(rawResourceView);
  });
}
