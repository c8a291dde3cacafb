import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Errors, ScaleAgentError, isScaleAgentError, type ErrorCode } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { OperationRouter } from '../router/types.ts';
import type { StoreReader } from '../store/types.ts';
import { errorBody } from '../http/error-body.ts';
import { AccountPolicy } from './account-policy.ts';
import type { AuthConfig } from './auth-config.ts';
import { Authenticator, type Principal } from './authenticator.ts';
import { AuthorizedRouter } from './authorized-router.ts';
import { AuthorizedStore, type AuthorizedStoreOptions } from './authorized-store.ts';
import { ANONYMOUS_CREATOR, CallerAccess, describeCaller, runAsCaller, taskCreator } from './caller-access.ts';
import { HTTP_FORBIDDEN, HTTP_UNAUTHORIZED } from '../../common/http-status.ts';

/**
 * Routes anyone may call, authenticated or not: load balancers and orchestrators probe them (the health
 * routes, api/routes/health-routes.ts: /health, and the liveness and readiness probes).
 */
const PUBLIC_ROUTES = new Set(['/health', '/health/liveness', '/health/readiness', '/livez', '/readyz']);
/** Routes that need one of auth.adminRoles. */
function isAdminRoute(url: string | undefined): boolean {
  return url !== undefined && (url === '/metrics' || url === '/admin' || url.startsWith('/admin/'));
}

/** The REST side of `auth`, built at start (token files and variables are read here, errors name the key). */
export interface RestAuthSetup {
  config: AuthConfig;
  authenticator: Authenticator;
}

export function createRestAuth(config: AuthConfig, env: NodeJS.ProcessEnv = process.env): RestAuthSetup {
  return { config, authenticator: new Authenticator(config, env) };
}

/** What route handlers use to check WRITE before they act. */
export interface RouteAuth {
  readonly enabled: boolean;
  /**
   * Throws ACCESS_DENIED (403) unless the request's caller holds WRITE on every account; `undefined`
   * (accounts that cannot be told, e.g. an unreadable stored task) is refused while auth is on.
   */
  requireWrite(request: FastifyRequest, accounts: Iterable<string> | undefined): Promise<void>;
  /**
   * Throws ACCESS_DENIED (403) unless the request's caller holds one of auth.adminRoles: for routes
   * outside /admin/ that change what the hub serves (Clouddriver's Account Management, /credentials).
   */
  requireAdmin(request: FastifyRequest): void;
  /**
   * Who a task made by this request records as its creator (TaskRecord.createdBy): `user:<name>` for the
   * authenticated caller, `anonymous` while auth is off. clientRequestIds are scoped by it.
   */
  taskCreator(request: FastifyRequest): string;
  /**
   * Who is asking, for views that say so and show more to admins (the status page); undefined while
   * auth is off (everyone is the same anonymous caller, who may see everything).
   */
  principal(request: FastifyRequest): Pick<Principal, 'user' | 'admin'> | undefined;
}

/** No authorization: the hub before `auth.enabled`, and API servers built without an auth setup (tests). */
export const ALLOW_ALL: RouteAuth = {
  enabled: false,
  async requireWrite() {},
  requireAdmin() {},
  taskCreator: () => ANONYMOUS_CREATOR,
  principal: () => undefined,
};

export interface InstalledRestAuth {
  /** The reads the routes must use: filtered to the caller, permissions presented normalised. */
  store: AuthorizedStore;
  /** The router the routes must use: live reads need READ, anything else WRITE. */
  router: OperationRouter;
  auth: RouteAuth;
}

function refuse(reply: FastifyReply, status: number, code: ErrorCode, message: string): FastifyReply {
  if (status === HTTP_UNAUTHORIZED) reply.header('www-authenticate', 'Bearer realm="scale-agent"');
  return reply.code(status).send(errorBody(status, message, code));
}

/** What installRestAuth reads through and filters. */
export interface RestAuthDeps {
  store: StoreReader;
  router: OperationRouter;
  logger: Logger;
  /**
   * The accounts a stored task acts on (which tasks a caller may see). Only the REST API knows what an
   * ops request holds, so it passes this in (api/ops/request-accounts.ts) rather than auth parsing it.
   */
  taskAccounts: AuthorizedStoreOptions['taskAccounts'];
}

/**
 * Installs REST authorization on an API server before its routes are added: authentication of every
 * request but /health (onRequest), the admin role for /admin/* and /metrics, READ on the account a
 * route names in its path (preHandler), and the caller's context around every handler so the shared
 * store and router filter by it. With auth disabled, only the permission presentation applies.
 */
export function installRestAuth(app: FastifyInstance, setup: RestAuthSetup, deps: RestAuthDeps): InstalledRestAuth {
  const { config, authenticator } = setup;
  const { logger } = deps;
  const policy = new AccountPolicy({ config, store: deps.store, logger });
  const store = new AuthorizedStore(deps.store, { policy, enforce: config.enabled, taskAccounts: deps.taskAccounts });
  if (!config.enabled) return { store, router: deps.router, auth: ALLOW_ALL };

  const callers = new WeakMap<FastifyRequest, CallerAccess>();
  const denied = (request: FastifyRequest, err: ScaleAgentError) =>
    logger.info(
      { method: request.method, url: request.routeOptions.url, remote: request.socket.remoteAddress, ...err.details, code: err.code },
      `REST request refused: ${err.message}`,
    );

  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route !== undefined && PUBLIC_ROUTES.has(route)) return;
    const outcome = authenticator.authenticate(request.headers, request.socket.remoteAddress, request.method);
    if (!outcome.ok) {
      logger.info(
        { method: request.method, url: route ?? null, remote: request.socket.remoteAddress, code: outcome.code },
        `REST request not authenticated: ${outcome.message}`,
      );
      return refuse(reply, HTTP_UNAUTHORIZED, outcome.code, outcome.message);
    }
    const { principal } = outcome;
    if (isAdminRoute(route) && !principal.admin) {
      const message = `${route} needs an admin role (auth.adminRoles); ${describeCaller(principal)}`;
      logger.info({ method: request.method, url: route, user: principal.user, code: Errors.ACCESS_DENIED.code }, `REST request refused: ${message}`);
      return refuse(reply, HTTP_FORBIDDEN, Errors.ACCESS_DENIED.code, message);
    }
    callers.set(request, new CallerAccess(principal, policy));
    return undefined;
  });

  // A route that names an account in its path reads that account.
  app.addHook('preHandler', async (request) => {
    const caller = callers.get(request);
    const account = (request.params as Record<string, unknown> | undefined)?.account;
    if (caller === undefined || typeof account !== 'string') return;
    try {
      await caller.require([account], 'READ');
    } catch (err) {
      if (isScaleAgentError(err)) denied(request, err);
      throw err;
    }
  });

  // Every handler runs as its caller, so the store and router below see who is asking.
  app.addHook('onRoute', (route) => {
    const handler = route.handler;
    route.handler = function authorizedHandler(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
      const caller = callers.get(request);
      return caller === undefined ? handler.call(this, request, reply) : runAsCaller(caller, () => handler.call(this, request, reply));
    };
  });

  const auth: RouteAuth = {
    enabled: true,
    async requireWrite(request, accounts) {
      const caller = callers.get(request);
      if (caller === undefined) throw new ScaleAgentError(Errors.INTERNAL_ERROR, 'no authenticated caller for this request; refusing to act');
      try {
        if (accounts === undefined) {
          throw new ScaleAgentError(Errors.ACCESS_DENIED, 'Access denied: the accounts this task acts on cannot be determined, so WRITE cannot be checked', {
            user: caller.principal.user,
          });
        }
        await caller.require(accounts, 'WRITE');
      } catch (err) {
        if (isScaleAgentError(err)) denied(request, err);
        throw err;
      }
    },
    requireAdmin(request) {
      const caller = callers.get(request);
      if (caller === undefined) throw new ScaleAgentError(Errors.INTERNAL_ERROR, 'no authenticated caller for this request; refusing to act');
      if (caller.principal.admin) return;
      const { principal } = caller;
      const err = new ScaleAgentError(
        Errors.ACCESS_DENIED,
        `${request.method} ${request.routeOptions.url ?? request.url} needs an admin role (auth.adminRoles); ${describeCaller(principal)}`,
        { user: principal.user },
      );
      denied(request, err);
      throw err;
    },
    taskCreator(request) {
      const caller = callers.get(request);
      if (caller === undefined) throw new ScaleAgentError(Errors.INTERNAL_ERROR, 'no authenticated caller for this request; refusing to act');
      return taskCreator(caller.principal);
    },
    principal(request) {
      const caller = callers.get(request);
      return caller === undefined ? undefined : { user: caller.principal.user, admin: caller.principal.admin };
    },
  };
  return { store, router: new AuthorizedRouter(deps.router), auth };
}
