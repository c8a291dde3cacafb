import type { FastifyInstance } from 'fastify';
import { STATUS_PAGE_HEADERS, statusPageHtml } from '../../../common/status-page/page-shell.ts';
import { STATUS_PAGE_CSS } from '../../../common/status-page/page-style.ts';
import { statusPageScript } from '../../../common/status-page/page-runtime.ts';
import { HUB_PAGE_SCRIPT } from '../status/hub-page-script.ts';
import { statusData } from '../status/status-data.ts';
import type { RouteContext } from './route-context.ts';

/** Where the status page's parts are served: under `/status/`, a prefix Clouddriver's API does not use. */
export const STATUS_PATHS = { page: '/', data: '/status/data', script: '/status/page.js', style: '/status/page.css' } as const;

const HUB_SCRIPT = statusPageScript(HUB_PAGE_SCRIPT);

/**
 * The hub's status page: GET / (the page), its script and style (same origin: the Content-Security-Policy
 * allows nothing else), and GET /status/data, the JSON it polls (src/hub/api/status/status-data.ts).
 * These are ordinary protected routes: with REST authorization on, an unauthenticated caller gets the 401
 * every other route gives, and the data shows only the accounts the caller may READ, their operations,
 * and this replica's sessions narrowed to them (whole for admins); anyone sees everything while it is off.
 */
export function statusRoutes(app: FastifyInstance, context: Pick<RouteContext, 'store' | 'health' | 'replicas' | 'sessions' | 'hubId' | 'auth'>): void {
  app.get(STATUS_PATHS.page, async (_request, reply) => {
    reply.headers(STATUS_PAGE_HEADERS).type('text/html; charset=utf-8');
    return statusPageHtml({ title: 'Scale Agent · hub', heading: 'Scale Agent · hub' });
  });
  app.get(STATUS_PATHS.script, async (_request, reply) => {
    reply.headers(STATUS_PAGE_HEADERS).type('text/javascript; charset=utf-8');
    return HUB_SCRIPT;
  });
  app.get(STATUS_PATHS.style, async (_request, reply) => {
    reply.headers(STATUS_PAGE_HEADERS).type('text/css; charset=utf-8');
    return STATUS_PAGE_CSS;
  });
  app.get(STATUS_PATHS.data, async (request, reply) => {
    const principal = context.auth.principal(request);
    const viewer = { authEnabled: context.auth.enabled, user: principal?.user ?? null, admin: principal?.admin === true };
    reply.headers(STATUS_PAGE_HEADERS);
    return statusData(context, viewer, Date.now());
  });
}
