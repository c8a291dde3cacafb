import type { FastifyInstance } from 'fastify';
import { splitFullResourceName } from '../../store/kind-names.ts';
import { SECURITY_GROUP_KINDS } from '../../views/kinds.ts';
import { resolveFullName } from '../../views/loader.ts';
import { CLOUD_PROVIDER, securityGroupModel, securityGroupSummary, type SecurityGroupSummary } from '../../views/models.ts';
import { byName, toResources, type Resource } from '../../views/resource.ts';
import { notFound } from '../http-errors.ts';
import { isKubernetes } from './cloud-provider.ts';
import { queryOf, type RouteContext } from './route-context.ts';
import type { ObjectParams } from './view-params.ts';

/**
 * Clouddriver's security groups (NetworkPolicies), served from the cache: all of them by account and
 * namespace, one account's, one by name; and Gate's /firewalls names for the same views.
 */
export function securityGroupRoutes(app: FastifyInstance, { store, views: loader }: RouteContext): void {
  async function securityGroups(account?: string): Promise<Resource[]> {
    return toResources(await store.listObjects({ ...(account === undefined ? {} : { account }), kinds: [...SECURITY_GROUP_KINDS] }));
  }

  function summariesByRegion(policies: readonly Resource[]): Record<string, SecurityGroupSummary[]> {
    const out: Record<string, SecurityGroupSummary[]> = {};
    for (const p of policies) (out[p.namespace] ??= []).push(securityGroupSummary(p));
    for (const list of Object.values(out)) list.sort(byName);
    return out;
  }

  function sortedSummaries(policies: readonly Resource[]): SecurityGroupSummary[] {
    return policies.map(securityGroupSummary).sort(byName);
  }

  async function allSecurityGroups() {
    const byAccount = new Map<string, Resource[]>();
    for (const p of await securityGroups()) {
      const list = byAccount.get(p.account);
      if (list) list.push(p);
      else byAccount.set(p.account, [p]);
    }
    const out: Record<string, Record<string, Record<string, SecurityGroupSummary[]>>> = {};
    for (const account of [...byAccount.keys()].sort()) out[account] = { [CLOUD_PROVIDER]: summariesByRegion(byAccount.get(account)!) };
    return out;
  }

  /** GET /securityGroups/{account}/{cloudProvider}[?region=]: by namespace, or one namespace's list. */
  async function accountSecurityGroups(account: string, provider: string, region: string | undefined) {
    if (!isKubernetes(provider)) return region === undefined ? {} : [];
    const policies = await securityGroups(account);
    return region === undefined ? summariesByRegion(policies) : sortedSummaries(policies.filter((p) => p.namespace === region));
  }

  async function oneSecurityGroup(account: string, provider: string, region: string, name: string) {
    const policy = isKubernetes(provider) ? (await loader.one(account, region, name, 'securityGroups'))?.resource : undefined;
    if (!policy) throw notFound(`Security group '${name}' does not exist`, { account, region, name });
    return securityGroupModel(policy);
  }

  app.get('/securityGroups', async () => allSecurityGroups());

  app.get<{ Params: { account: string } }>('/securityGroups/:account', async (request) => {
    const region = queryOf(request.query).region;
    const policies = await securityGroups(request.params.account);
    const selected = region === undefined ? policies : policies.filter((p) => p.namespace === region);
    if (selected.length === 0) return {};
    return { [CLOUD_PROVIDER]: region === undefined ? summariesByRegion(selected) : sortedSummaries(selected) };
  });

  app.get<{ Params: { account: string; provider: string } }>('/securityGroups/:account/:provider', async (request) =>
    accountSecurityGroups(request.params.account, request.params.provider, queryOf(request.query).region),
  );

  app.get<{ Params: { account: string; provider: string; name: string } }>('/securityGroups/:account/:provider/:name', async (request) => {
    const { account, provider, name } = request.params;
    if (!isKubernetes(provider)) return {};
    const parts = splitFullResourceName(name);
    const target = parts ? await resolveFullName(store, account, name) : undefined;
    if (!target) return {};
    return summariesByRegion((await securityGroups(account)).filter((p) => p.group === target.group && p.kind === target.kind && p.name === target.name));
  });

  app.get<{ Params: { account: string; provider: string; region: string; name: string } }>(
    '/securityGroups/:account/:provider/:region/:name',
    async (request) => oneSecurityGroup(request.params.account, request.params.provider, request.params.region, request.params.name),
  );

  // Gate's /firewalls names for the same views (Deck calls them through Gate; direct callers get them too).
  app.get('/firewalls', async () => allSecurityGroups());
  app.get<{ Params: { account: string } }>('/firewalls/:account', async (request) => {
    const query = queryOf(request.query);
    return accountSecurityGroups(request.params.account, query.provider ?? CLOUD_PROVIDER, query.region);
  });
  app.get<{ Params: ObjectParams }>('/firewalls/:account/:region/:name', async (request) =>
    oneSecurityGroup(request.params.account, queryOf(request.query).provider ?? CLOUD_PROVIDER, request.params.region, request.params.name),
  );
}
