import type { FastifyInstance } from 'fastify';
import { errorBody } from '../../http/error-body.ts';
import { AccountInUseError, type AccountReleaser } from '../../replicas/account-release.ts';
import { booleanParam, queryOf } from './route-context.ts';

/**
 * POST /admin/accounts/{name}/release[?force=true] (the admin role, as every /admin/ route): removes the
 * account's registration and cache and gives up its caching assignment, so that an agent of another
 * cluster may register the name (a rebuilt cluster). 200 with what was removed (ReleaseOutcome); 404
 * ACCOUNT_NOT_FOUND for a name nobody registered; 409 ACCOUNT_IN_USE while a session serves the account,
 * with `servedBy` naming the sessions or replicas. `force` ends this replica's sessions' hold on the
 * account first (their agents are told ACCOUNT_RELEASED); see replicas/account-release.ts and
 * docs/operations.md, "Account lifecycle". The `scale-agent accounts release` command calls it.
 */
export function adminAccountRoutes(app: FastifyInstance, releaser: AccountReleaser): void {
  app.post<{ Params: { name: string } }>('/admin/accounts/:name/release', async (request, reply) => {
    const force = booleanParam(queryOf(request.query).force, false);
    try {
      return await releaser.release(request.params.name, { force });
    } catch (err) {
      if (!(err instanceof AccountInUseError)) throw err;
      return reply.code(err.httpStatus).send({ ...errorBody(err.httpStatus, err.message, err.code), servedBy: err.servedBy });
    }
  });
}
