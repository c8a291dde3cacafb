import type { FastifyInstance } from 'fastify';
import { Errors, ScaleAgentError } from '../../../common/errors.ts';
import type { AccountRecord, CacheReader } from '../../store/types.ts';
import { accountView, cacheView } from '../responses/credentials-view.ts';
import { booleanParam, queryOf, type RouteContext } from './route-context.ts';

/** Namespace objects in the cache, by account: the namespaces of accounts that watch all of them. */
async function namespacesSeen(store: CacheReader, accounts: AccountRecord[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const wanted = accounts.filter((a) => a.namespaces.length === 0);
  if (wanted.length === 0) return out;
  const objects = await store.listObjects({
    group: '',
    kind: 'Namespace',
    ...(wanted.length === 1 && wanted[0] !== undefined ? { account: wanted[0].name } : {}),
  });
  for (const o of objects) {
    const list = out.get(o.account);
    if (list) list.push(o.name);
    else out.set(o.account, [o.name]);
  }
  return out;
}

export function credentialsRoutes(app: FastifyInstance, { store }: RouteContext): void {
  app.get('/credentials', async (request) => {
    const expand = booleanParam(queryOf(request.query).expand, false);
    const accounts = await store.listAccounts();
    const seen = expand ? await namespacesSeen(store, accounts) : new Map<string, string[]>();
    return accounts.map((a) => accountView(a, expand, seen.get(a.name)));
  });

  app.get<{ Params: { account: string } }>('/credentials/:account', async (request) => {
    const account = await store.getAccount(request.params.account);
    if (!account) throw new ScaleAgentError(Errors.ACCOUNT_NOT_FOUND, `account ${request.params.account} not found`, { account: request.params.account });
    const seen = await namespacesSeen(store, [account]);
    return { ...accountView(account, true, seen.get(account.name)), cache: cacheView(await store.feedDigestStates(account.name), Date.now()) };
  });
}
