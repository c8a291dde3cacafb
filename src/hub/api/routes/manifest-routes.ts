import type { FastifyInstance } from 'fastify';
import { Errors, ScaleAgentError } from '../../../common/errors.ts';
import { resolveKind, splitFullResourceName } from '../../store/kind-names.ts';
import { requestInvalid } from '../http-errors.ts';
import { manifestView } from '../manifest-view.ts';
import { namespacedKind } from '../ops/scope.ts';
import type { RouteContext } from './route-context.ts';

/** Clouddriver's placeholder location for cluster-scoped objects. */
const CLUSTER_SCOPE_LOCATION = '_';

/**
 * GET /manifests/{account}/{location}/{name}, served from the cache, which the agents keep current by
 * watch (Clouddriver reads live here; our cache is at most a batch interval behind, and a task completes
 * only once its writes are cached). `includeEvents` is accepted; events are not cached yet.
 */
export function manifestRoutes(app: FastifyInstance, { store }: RouteContext): void {
  async function getManifest(accountName: string, location: string, fullName: string) {
    const account = await store.getAccount(accountName);
    if (!account) throw new ScaleAgentError(Errors.ACCOUNT_NOT_FOUND, `account ${accountName} not found`, { account: accountName });
    const parts = splitFullResourceName(fullName);
    if (!parts) throw requestInvalid(`manifest name must be "<kind> <name>", e.g. "deployment nginx", got "${fullName}"`, { name: fullName });
    const gk = resolveKind(parts.kindToken, account.kinds);
    if (!gk) throw new ScaleAgentError(Errors.NOT_FOUND, `kind "${parts.kindToken}" is not served by account ${accountName}`, { account: accountName, kind: parts.kindToken });
    const namespace = location === CLUSTER_SCOPE_LOCATION || !namespacedKind(account, gk.group, gk.kind) ? '' : location;
    const object = await store.getObject(accountName, gk.group, gk.kind, namespace, parts.name);
    if (!object) {
      const where = namespace === '' ? accountName : `${accountName}/${namespace}`;
      throw new ScaleAgentError(Errors.NOT_FOUND, `manifest ${fullName} not found in ${where}`, { account: accountName, namespace, name: fullName });
    }
    return manifestView(object);
  }

  app.get<{ Params: { account: string; location: string; name: string } }>('/manifests/:account/:location/:name', async (request) =>
    getManifest(request.params.account, request.params.location, request.params.name),
  );
  app.get<{ Params: { account: string; name: string } }>('/manifests/:account/:name', async (request) =>
    getManifest(request.params.account, CLUSTER_SCOPE_LOCATION, request.params.name),
  );
}
