import type { FastifyInstance } from 'fastify';
import { Errors, ScaleAgentError } from '../../../common/errors.ts';
import { resolveKind, splitFullResourceName } from '../../store/kind-names.ts';
import type { AccountRecord } from '../../store/types.ts';
import { CRITERIA, clusterManifests, coordinates, pick, type Criteria } from '../responses/cluster-manifests.ts';
import { requestInvalid } from '../http-errors.ts';
import { manifestEvents } from '../responses/manifest-events.ts';
import { manifestView } from '../responses/manifest-view.ts';
import { namespacedKind } from '../ops/scope.ts';
import { booleanParam, queryOf, type RouteContext } from './route-context.ts';

/** Clouddriver's placeholder location for cluster-scoped objects. */
const CLUSTER_SCOPE_LOCATION = '_';

interface ClusterParams {
  account: string;
  location: string;
  kind: string;
  app: string;
  cluster: string;
}

/**
 * The /manifests endpoints, served from the cache, which the agents keep current by watch (Clouddriver
 * reads live here; our cache is at most a batch interval behind, and a task completes only once its
 * writes are cached):
 *
 * - GET /manifests/{account}/{location}/{name}, /manifests/{account}/_/{name}, /manifests/{account}/{name}:
 *   the KubernetesManifest container; `includeEvents` (default true) adds the object's Events.
 * - GET /manifests/{account}/{location}/{kind}/cluster/{app}/{cluster}: the coordinates of the cluster's
 *   objects of that kind (Orca's deploy strategies).
 * - GET …/cluster/{app}/{cluster}/dynamic/{criteria}: the one object Orca's dynamic target selection
 *   asks for (oldest, newest, second_newest, largest, smallest); 404 when there is none.
 */
export function manifestRoutes(app: FastifyInstance, { store, router }: RouteContext): void {
  async function accountOf(name: string): Promise<AccountRecord> {
    const account = await store.getAccount(name);
    if (!account) throw new ScaleAgentError(Errors.ACCOUNT_NOT_FOUND, `account ${name} not found`, { account: name });
    return account;
  }

  async function getManifest(accountName: string, location: string, fullName: string, includeEvents: boolean) {
    const account = await accountOf(accountName);
    const parts = splitFullResourceName(fullName);
    if (!parts) throw requestInvalid(`manifest name must be "<kind> <name>", e.g. "deployment nginx", got "${fullName}"`, { name: fullName });
    const gk = resolveKind(parts.kindToken, account.kinds);
    if (!gk)
      throw new ScaleAgentError(Errors.NOT_FOUND, `kind "${parts.kindToken}" is not served by account ${accountName}`, {
        account: accountName,
        kind: parts.kindToken,
      });
    const namespace = location === CLUSTER_SCOPE_LOCATION || !namespacedKind(account, gk.group, gk.kind) ? '' : location;
    const object = await store.getObject(accountName, gk.group, gk.kind, namespace, parts.name);
    if (!object) {
      const where = namespace === '' ? accountName : `${accountName}/${namespace}`;
      throw new ScaleAgentError(Errors.NOT_FOUND, `manifest ${fullName} not found in ${where}`, { account: accountName, namespace, name: fullName });
    }
    const events = includeEvents ? await manifestEvents(store, router, account, object) : [];
    return manifestView(object, events);
  }

  const includeEvents = (query: unknown) => booleanParam(queryOf(query).includeEvents, true);

  app.get<{ Params: { account: string; location: string; name: string } }>('/manifests/:account/:location/:name', async (request) =>
    getManifest(request.params.account, request.params.location, request.params.name, includeEvents(request.query)),
  );
  app.get<{ Params: { account: string; name: string } }>('/manifests/:account/:name', async (request) =>
    getManifest(request.params.account, CLUSTER_SCOPE_LOCATION, request.params.name, includeEvents(request.query)),
  );

  async function cluster(params: ClusterParams) {
    const account = await accountOf(params.account);
    const gk = resolveKind(params.kind, account.kinds);
    if (!gk) return { gk, objects: [] };
    const namespace = params.location === CLUSTER_SCOPE_LOCATION || !namespacedKind(account, gk.group, gk.kind) ? '' : params.location;
    return { gk, objects: await clusterManifests(store, router, account, gk, namespace, params.app, params.cluster) };
  }

  app.get<{ Params: ClusterParams }>('/manifests/:account/:location/:kind/cluster/:app/:cluster', async (request) => {
    const { gk, objects } = await cluster(request.params);
    return gk ? objects.map((o) => coordinates(gk, o)) : [];
  });

  app.get<{ Params: ClusterParams & { criteria: string } }>('/manifests/:account/:location/:kind/cluster/:app/:cluster/dynamic/:criteria', async (request) => {
    const criteria = request.params.criteria as Criteria;
    if (!CRITERIA.includes(criteria)) {
      throw requestInvalid(`criteria must be one of ${CRITERIA.join(', ')}, got "${request.params.criteria}"`, { criteria: request.params.criteria });
    }
    const { gk, objects } = await cluster(request.params);
    const chosen = gk ? pick(objects, criteria) : undefined;
    if (!gk || !chosen) {
      const { account, location, kind, app: application, cluster: name } = request.params;
      throw new ScaleAgentError(
        Errors.NOT_FOUND,
        `No manifests matching (account: ${account}, location: ${location}, kind: ${kind}, app ${application}, cluster: ${name}, criteria: ${criteria}) found`,
        { account, location, kind, app: application, cluster: name, criteria },
      );
    }
    return coordinates(gk, chosen);
  });
}
