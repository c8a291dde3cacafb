import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { observeRequests, UNMATCHED_ROUTE } from './request-observer.ts';

test('requests are reported by route template, never by the URL asked for; unrouted ones as unmatched', async () => {
  const app = Fastify({ logger: false });
  const seen: Array<{ method: string; route: string; statusCode: number }> = [];
  observeRequests(app, {
    requestServed: (method, route, statusCode, seconds) => {
      assert.ok(seconds >= 0 && seconds < 60, `a duration in seconds: ${seconds}`);
      seen.push({ method, route, statusCode });
    },
  });
  app.get('/applications/:application', async (request, reply) => {
    const { application } = request.params as { application: string };
    return application === 'missing' ? reply.code(404).send({}) : { application };
  });
  await app.inject({ method: 'GET', url: '/applications/shop?expand=true' });
  await app.inject({ method: 'GET', url: '/applications/missing' });
  await app.inject({ method: 'POST', url: '/no/such/route/12345' });
  await app.close();
  assert.deepEqual(seen, [
    { method: 'GET', route: '/applications/:application', statusCode: 200 },
    { method: 'GET', route: '/applications/:application', statusCode: 404 },
    { method: 'POST', route: UNMATCHED_ROUTE, statusCode: 404 },
  ]);
});
