import type { FastifyInstance } from 'fastify';

/** Where the REST server reports every request it answered (the hub's metrics). */
export interface RequestObserver {
  /**
   * `route`: the template of the route that answered (`/applications/:application`), never the URL
   * asked for — one series per URL would grow without bound; UNMATCHED_ROUTE when no route matched.
   */
  requestServed(method: string, route: string, statusCode: number, seconds: number): void;
}

/** The route of a request no route matched (a 404, or a request refused before routing). */
export const UNMATCHED_ROUTE = 'unmatched';
const MS_PER_SECOND = 1000;

/** Reports every response of `app` to `observer`; routes added after this call included. */
export function observeRequests(app: FastifyInstance, observer: RequestObserver): void {
  app.addHook('onResponse', async (request, reply) => {
    observer.requestServed(request.method, request.routeOptions.url ?? UNMATCHED_ROUTE, reply.statusCode, reply.elapsedTime / MS_PER_SECOND);
  });
}
