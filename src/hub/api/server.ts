import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { Errors } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { OperationRouter } from '../router/types.ts';
import type { AssignmentStore, StoreHealth, StoreReader, TaskStore } from '../store/types.ts';
import { ViewLoader } from '../views/loader.ts';
import { ResourceCache } from '../views/resource.ts';
import { ALLOW_ALL, installRestAuth, type RestAuthSetup } from '../auth/rest-auth.ts';
import { errorBody } from '../http/error-body.ts';
import { checkNesting } from './bounded-input.ts';
import { installErrorHandling } from './http-errors.ts';
import { observeRequests, type RequestObserver } from './request-observer.ts';
import { taskAccounts } from './ops/request-accounts.ts';
import { TaskRunner } from './ops/task-runner.ts';
import type { DefinitionService } from '../definitions/definition-service.ts';
import { accountDefinitionRoutes } from './routes/account-definition-routes.ts';
import { ArtifactService } from '../artifacts/artifact-service.ts';
import { artifactRoutes } from './routes/artifact-routes.ts';
import { adminAccountRoutes } from './routes/admin-account-routes.ts';
import type { AccountReleaser } from '../replicas/account-release.ts';
import { applicationRoutes } from './routes/application-routes.ts';
import { clusterRoutes } from './routes/cluster-routes.ts';
import { credentialsRoutes } from './routes/credentials-routes.ts';
import { healthRoutes } from './routes/health-routes.ts';
import { instanceRoutes } from './routes/instance-routes.ts';
import { jobRoutes } from './routes/job-routes.ts';
import { loadBalancerRoutes } from './routes/load-balancer-routes.ts';
import { manifestRoutes } from './routes/manifest-routes.ts';
import { adminRoutes, cacheRoutes, featureRoutes } from './routes/misc-routes.ts';
import { opsRoutes } from './routes/ops-routes.ts';
import { rawResourceRoutes } from './routes/raw-resource-routes.ts';
import { projectRoutes } from './routes/project-routes.ts';
import type { ProjectSource } from './projects/front50-client.ts';
import type { ReplicaListing, RouteContext, SessionListing } from './routes/route-context.ts';
import { searchRoutes } from './routes/search-routes.ts';
import { securityGroupRoutes } from './routes/security-group-routes.ts';
import { serverGroupRoutes } from './routes/server-group-routes.ts';
import { statusRoutes } from './routes/status-routes.ts';
import { taskRoutes } from './routes/task-routes.ts';
import { HTTP_BAD_REQUEST } from '../../common/http-status.ts';

export interface ApiServerOptions {
  /**
   * The reads the routes make (filtered per caller when `auth` is given), the tasks the runner writes
   * (when it is made here), and the /health check.
   */
  store: StoreReader & TaskStore & StoreHealth;
  router: OperationRouter;
  /** This replica's id: the owner of the tasks it runs. */
  hubId: string;
  logger: Logger;
  /** Deadline of one hub→agent operation. */
  operationTimeoutMs?: number;
  /** Largest request body: deploys carry whole manifests (ConfigMaps can be large). */
  bodyLimitBytes?: number;
  /** Clock for task timestamps and error bodies' `timestamp` (tests). */
  now?: () => number;
  /** The task runner (the hub makes it, to recover interrupted tasks before serving); one is made otherwise. */
  tasks?: TaskRunner;
  /**
   * REST authorization (the hub's `auth` section, see src/hub/auth). Without it nothing is checked or
   * filtered; with `auth.enabled: false` only account permissions are presented normalised.
   */
  auth?: RestAuthSetup;
  /** The hub replicas sharing the database, listed by GET /health (the hub gives it; without it /health shows the database only). */
  replicas?: ReplicaListing;
  /** This replica's agent sessions, listed by the status page (GET /, GET /status/data). */
  sessions?: SessionListing;
  /** The caching assignments GET /admin/replicas lists with the replicas. */
  assignments?: Pick<AssignmentStore, 'listAssignments'>;
  /** Releases account names (POST /admin/accounts/{name}/release); the hub gives it, the API server alone has no such route. */
  accountRelease?: AccountReleaser;
  /** Dynamic account definitions: /admin/accounts and Clouddriver's Account Management (POST/PUT/DELETE /credentials). */
  definitions?: DefinitionService;
  /** Told of every request answered, by route template and status (the hub's metrics). */
  requests?: RequestObserver;
  /** Front50, where GET /projects/{project}/clusters reads projects (front50.baseUrl); without it every project is a 404. */
  front50?: ProjectSource;
  /** Artifact accounts and fetching (/artifacts/…); without it, only Clouddriver's built-in embedded and custom accounts. */
  artifacts?: ArtifactService;
}

export const DEFAULT_OPERATION_TIMEOUT_MS = 30_000;

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (headers or URL too large, malformed
 * request line): answered in the API's error shape, with a code, like every other refusal.
 */
function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : HTTP_BAD_REQUEST;
  const message =
    status === 431
      ? 'the request line or headers are too large'
      : status === 408
        ? 'the request took too long to arrive'
        : `malformed HTTP request (${err.code ?? err.message})`;
  const body = JSON.stringify(errorBody(status, message, Errors.REQUEST_INVALID.code));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
const DEFAULT_BODY_LIMIT_BYTES = 32 * 1024 * 1024;

/**
 * The Clouddriver-compatible REST API for Kubernetes accounts. Returns a Fastify instance that is not
 * listening; the caller decides where. Closing it waits for the tasks it is still running.
 */
export function buildApiServer(options: ApiServerOptions): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    routerOptions: { ignoreTrailingSlash: true },
    clientErrorHandler,
  });
  const tasks =
    options.tasks ??
    new TaskRunner({
      store: options.store,
      router: options.router,
      hubId: options.hubId,
      logger: options.logger,
      operationTimeoutMs: options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS,
      now: options.now,
    });
  // Authorization comes first: its hooks must see every route added below (and /metrics, added later).
  // Routes read through the authorizing store and router; the task runner keeps the plain ones.
  const authorized = options.auth
    ? installRestAuth(app, options.auth, { store: options.store, router: options.router, logger: options.logger, taskAccounts })
    : undefined;
  const store = authorized?.store ?? options.store;
  const context: RouteContext = {
    store,
    health: options.store,
    replicas: options.replicas,
    sessions: options.sessions,
    assignments: options.assignments,
    router: authorized?.router ?? options.router,
    hubId: options.hubId,
    logger: options.logger,
    tasks,
    auth: authorized?.auth ?? ALLOW_ALL,
    views: new ViewLoader(store, new ResourceCache()),
    ...(options.definitions !== undefined ? { definitions: options.definitions } : {}),
    ...(options.front50 !== undefined ? { front50: options.front50 } : {}),
  };

  // Orca and curl send "Content-Type: application/json" with empty bodies (e.g. cache refreshes);
  // an empty body is "no body", a malformed one a 400 that says why. JSON.parse does not recurse, but
  // the routes' walkers do: a body nested deeper than MAX_NESTING_DEPTH is a 400 REQUEST_TOO_COMPLEX
  // (checked without recursion) before any route sees it.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      const error = new Error(`malformed JSON body: ${(err as Error).message}`) as Error & { statusCode: number };
      error.statusCode = HTTP_BAD_REQUEST;
      return done(error, undefined);
    }
    try {
      checkNesting(value);
    } catch (err) {
      return done(err as Error, undefined);
    }
    done(null, value);
  });
  app.addHook('onResponse', async (request, reply) => {
    options.logger.debug({ method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });
  if (options.requests !== undefined) observeRequests(app, options.requests);
  app.addHook('onClose', async () => {
    tasks.stopMaintenance();
    await tasks.drain();
  });
  installErrorHandling(app, options.logger, options.now);

  healthRoutes(app, context);
  credentialsRoutes(app, context);
  manifestRoutes(app, context);
  opsRoutes(app, context);
  taskRoutes(app, context);
  featureRoutes(app);
  cacheRoutes(app);
  adminRoutes(app, context);
  if (options.accountRelease !== undefined) adminAccountRoutes(app, options.accountRelease);
  if (options.definitions !== undefined) accountDefinitionRoutes(app, context, options.definitions);
  // The application views: one file per Clouddriver resource family, sharing context.views.
  applicationRoutes(app, context);
  clusterRoutes(app, context);
  serverGroupRoutes(app, context);
  loadBalancerRoutes(app, context);
  securityGroupRoutes(app, context);
  instanceRoutes(app, context);
  searchRoutes(app, context);
  jobRoutes(app, context);
  rawResourceRoutes(app, context);
  projectRoutes(app, context);
  artifactRoutes(app, options.artifacts ?? new ArtifactService());
  // The status page shares one unfiltered read among its callers and narrows it per caller (AuthorizedStore).
  statusRoutes(app, context, { store: options.store, filter: authorized?.store });
  return app;
}
