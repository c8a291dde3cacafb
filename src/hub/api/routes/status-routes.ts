import type { FastifyInstance } from 'fastify';
import { STATUS_PAGE_HEADERS } from '../../../common/status-page/page-shell.ts';
import { STATUS_PAGE_PATHS, statusPageRoutes } from '../../../common/status-page/page-routes.ts';
import { statusPageScript } from '../../../common/status-page/page-runtime.ts';
import { HUB_PAGE_SCRIPT } from '../status/hub-page-script.ts';
import { statusData, type StatusReadFilter } from '../status/status-data.ts';
import { StatusSnapshots, type StatusSnapshotOptions } from '../status/status-snapshot.ts';
import type { RouteContext } from './route-context.ts';

/** Where the status page's parts are served: under `/status/`, a prefix Clouddriver's API does not use. */
export const STATUS_PATHS = { ...STATUS_PAGE_PATHS, data: '/status/data' } as const;

const HUB_SCRIPT = statusPageScript(HUB_PAGE_SCRIPT);

/** What the status page reads besides the route context: the store unfiltered, and the caller's filter. */
export interface StatusReads {
  /** The store as it is: the snapshot every caller shares is read from it. */
  store: StatusSnapshotOptions['store'];
  /** The AuthorizedStore that narrows it to each caller; absent when REST authorization is not installed. */
  filter?: StatusReadFilter;
}

/**
 * The hub's status page: GET / (the page), its script and style (same origin: the Content-Security-Policy
 * allows nothing else), and GET /status/data, the JSON it polls (src/hub/api/status/status-data.ts).
 * These are ordinary protected routes: with REST authorization on, an unauthenticated caller gets the 401
 * every other route gives, and the data shows only the accounts the caller may READ, their operations,
 * and this replica's sessions narrowed to them (whole for admins); anyone sees everything while it is off.
 * The expensive reads are one snapshot shared by every caller for STATUS_SNAPSHOT_TTL_MS
 * (status-snapshot.ts), narrowed per caller by the AuthorizedStore's own rules.
 */
export function statusRoutes(
  app: FastifyInstance,
  context: Pick<RouteContext, 'health' | 'replicas' | 'sessions' | 'hubId' | 'auth'>,
  reads: StatusReads,
): void {
  const snapshots = new StatusSnapshots({ store: reads.store, health: context.health, replicas: context.replicas });
  statusPageRoutes(app, { title: 'Scale Agent · hub', script: HUB_SCRIPT });
  app.get(STATUS_PATHS.data, async (request, reply) => {
    const principal = context.auth.principal(request);
    const viewer = { authEnabled: context.auth.enabled, user: principal?.user ?? null, admin: principal?.admin === true };
    reply.headers(STATUS_PAGE_HEADERS);
    const snapshot = await snapshots.get();
    return statusData({ snapshot, filter: reads.filter, sessions: context.sessions, hubId: context.hubId }, viewer, Date.now());
  });
}
