import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '../../common/logger.ts';
import type { OperationRouter } from '../router/types.ts';
import type { Store } from '../store/types.ts';
import { installErrorHandling } from './http-errors.ts';
import { TaskRunner } from './ops/task-runner.ts';
import { applicationRoutes } from './routes/application-routes.ts';
import { credentialsRoutes } from './routes/credentials-routes.ts';
import { healthRoutes } from './routes/health-routes.ts';
import { jobRoutes } from './routes/job-routes.ts';
import { manifestRoutes } from './routes/manifest-routes.ts';
import { adminRoutes, cacheRoutes, featureRoutes } from './routes/misc-routes.ts';
import { opsRoutes } from './routes/ops-routes.ts';
import { rawResourceRoutes } from './routes/raw-resource-routes.ts';
import type { RouteContext } from './routes/route-context.ts';
import { searchRoutes } from './routes/search-routes.ts';
import { taskRoutes } from './routes/task-routes.ts';

export interface ApiServerOptions {
  store: Store;
  router: OperationRouter;
  /** This replica's id: the owner of the tasks it runs. */
  hubId: string;
  logger: Logger;
  /** Deadline of one hub→agent operation. */
  operationTimeoutMs?: number;
  /** Largest request body: deploys carry whole manifests (ConfigMaps can be large). */
  bodyLimitBytes?: number;
  /** Clock for task timestamps (tests). */
  now?: () => number;
  /** The task runner (the hub makes it, to recover interrupted tasks before serving); one is made otherwise. */
  tasks?: TaskRunner;
}

export const DEFAULT_OPERATION_TIMEOUT_MS = 30_000;
const DEFAULT_BODY_LIMIT_BYTES = 32 * 1024 * 1024;
const HTTP_BAD_REQUEST = 400;

/**
 * The Clouddriver-compatible REST API for Kubernetes accounts. Returns a Fastify instance that is not
 * listening; the caller decides where. Closing it waits for the tasks it is still running.
 */
export function buildApiServer(options: ApiServerOptions): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES, routerOptions: { ignoreTrailingSlash: true } });
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
  const context: RouteContext = { store: options.store, router: options.router, hubId: options.hubId, logger: options.logger, tasks };

  // Orca and curl send "Content-Type: application/json" with empty bodies (e.g. cache refreshes);
  // an empty body is "no body", a malformed one a 400 that says why.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      const error = new Error(`malformed JSON body: ${(err as Error).message}`) as Error & { statusCode: number };
      error.statusCode = HTTP_BAD_REQUEST;
      done(error, undefined);
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    options.logger.debug({ method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });
  app.addHook('onClose', async () => {
    tasks.stopMaintenance();
    await tasks.drain();
  });
  installErrorHandling(app, options.logger);

  healthRoutes(app, context);
  credentialsRoutes(app, context);
  manifestRoutes(app, context);
  opsRoutes(app, context);
  taskRoutes(app, context);
  featureRoutes(app);
  cacheRoutes(app);
  adminRoutes(app, context);
  applicationRoutes(app, context);
  searchRoutes(app, context);
  jobRoutes(app, context);
  rawResourceRoutes(app, context);
  return app;
}
