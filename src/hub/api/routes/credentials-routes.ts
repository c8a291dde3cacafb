import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Errors, ScaleAgentError, isScaleAgentError, type ErrorDefinition } from '../../../common/errors.ts';
import { HTTP_BAD_REQUEST } from '../../../common/http-status.ts';
import { accountStatus, type AccountStatusView } from '../../definitions/account-status.ts';
import { accountFromManagementBody, KUBERNETES_TYPE } from '../../definitions/clouddriver-accounts.ts';
import type { DefinitionService } from '../../definitions/definition-service.ts';
import type { AccountDefinitionRecord, AccountRecord, CacheReader } from '../../store/types.ts';
import { withStatus } from '../http-errors.ts';
import { accountView, cachesDefinitions, cacheView, clouddriverAccountFields, DEFINITION_KIND, type AccountCacheFacts } from '../responses/credentials-view.ts';
import { DEFINITION_BODY_LIMIT_BYTES } from './account-definition-routes.ts';
import { booleanParam, limitParam, queryOf, type RouteContext } from './route-context.ts';

/** The single account's name when there is one: its query then reads one range of the primary key. */
function onlyAccount(accounts: readonly AccountRecord[]): { account: string } | object {
  return accounts.length === 1 && accounts[0] !== undefined ? { account: accounts[0].name } : {};
}

/** Namespace objects in the cache, by account: the namespaces of accounts that watch all of them. */
async function namespacesSeen(store: CacheReader, accounts: AccountRecord[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const wanted = accounts.filter((a) => a.namespaces.length === 0);
  if (wanted.length === 0) return out;
  const objects = await store.listObjects({ group: '', kind: 'Namespace', ...onlyAccount(wanted) });
  for (const o of objects) {
    const list = out.get(o.account);
    if (list) list.push(o.name);
    else out.set(o.account, [o.name]);
  }
  return out;
}

/**
 * The names of the CustomResourceDefinitions in the cache, by account, for the accounts that cache them
 * (spinnakerKindMap lists the kinds they define). Keys only: a CRD's body (its schema) can be large.
 */
async function definitionsSeen(store: CacheReader, accounts: AccountRecord[]): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  const wanted = accounts.filter(cachesDefinitions);
  for (const account of wanted) out.set(account.name, new Set());
  if (wanted.length === 0) return out;
  const objects = await store.searchObjects({ kinds: [DEFINITION_KIND], withoutBodies: true, ...onlyAccount(wanted) });
  for (const o of objects) out.get(o.account)?.add(o.name);
  return out;
}

/** What the expanded views take from the cache, by account. */
async function cacheFacts(store: CacheReader, accounts: AccountRecord[]): Promise<Map<string, AccountCacheFacts>> {
  const [namespaces, definitions] = await Promise.all([namespacesSeen(store, accounts), definitionsSeen(store, accounts)]);
  return new Map(accounts.map((a) => [a.name, { namespacesSeen: namespaces.get(a.name), definitions: definitions.get(a.name) }]));
}

/**
 * What /credentials adds to Clouddriver's shape: whether the account is defined through the hub
 * (`dynamic`) and its lifecycle (`status`, Armory's names: ACTIVE, FAILED, ORPHANED, ACTIVATING,
 * INACTIVE, DELETING; `statusReason` says why for the failing ones).
 */
function lifecycle(
  definition: AccountDefinitionRecord | undefined,
  account: AccountRecord | undefined,
): { dynamic: boolean; status: string; statusReason?: string } {
  const { status, reason }: AccountStatusView = accountStatus(definition, account);
  return { dynamic: definition !== undefined, status, ...(reason !== undefined ? { statusReason: reason } : {}) };
}

/** A dynamic account no agent has registered (yet): what Clouddriver's shape can say of it from its definition. */
function definedOnlyView(definition: AccountDefinitionRecord): Record<string, unknown> {
  const account = JSON.parse(definition.definition) as Record<string, unknown>;
  const text = (key: string) => (typeof account[key] === 'string' ? (account[key] as string) : undefined);
  return {
    ...clouddriverAccountFields(definition.name, text('environment'), text('accountType')),
    enabled: false,
    namespaces: Array.isArray(account.namespaces) ? account.namespaces : [],
    ...lifecycle(definition, undefined),
  };
}

/** Clouddriver answers its Account Management's refusals (exists, does not exist, …) with 400 InvalidRequestException. */
const CLOUDDRIVER_CLIENT_ERRORS: ReadonlySet<string> = new Set([
  Errors.ACCOUNT_DEFINITION_EXISTS.code,
  Errors.ACCOUNT_DEFINITION_NOT_FOUND.code,
  Errors.ACCOUNT_DEFINITION_CONFLICT.code,
  Errors.ACCOUNT_NOT_DYNAMIC.code,
]);

async function asClouddriver<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (isScaleAgentError(err) && CLOUDDRIVER_CLIENT_ERRORS.has(err.code)) {
      const def: ErrorDefinition = withStatus({ code: err.code, httpStatus: err.httpStatus }, HTTP_BAD_REQUEST);
      throw new ScaleAgentError(def, err.message, err.details, { cause: err });
    }
    throw err;
  }
}

/** A stored definition as Clouddriver's Account Management shows it (`@type` first). */
function managementBody(definition: AccountDefinitionRecord): Record<string, unknown> {
  return { '@type': KUBERNETES_TYPE, ...(JSON.parse(definition.definition) as Record<string, unknown>) };
}

const DEFAULT_TYPE_LIST = 100;
const MAX_TYPE_LIST = 1000;

/**
 * GET /credentials and /credentials/{account} in Clouddriver's shape, with each account's `dynamic` and
 * `status`; and, when the hub manages dynamic accounts, Clouddriver's Account Management for Kubernetes
 * accounts (docs/operations.md, "Dynamic accounts"): POST /credentials (create), PUT /credentials
 * (create or replace), PUT /credentials/{name} (replace), DELETE /credentials/{name}, GET
 * /credentials/type/{type}. These write: they need one of auth.adminRoles while REST authorization is on.
 */
export function credentialsRoutes(app: FastifyInstance, { store, definitions, auth }: RouteContext): void {
  app.get('/credentials', async (request) => {
    const expand = booleanParam(queryOf(request.query).expand, false);
    const [accounts, defined] = await Promise.all([store.listAccounts(), definitions?.definitionsByName() ?? new Map<string, AccountDefinitionRecord>()]);
    const facts = expand ? await cacheFacts(store, accounts) : new Map<string, AccountCacheFacts>();
    return accounts.map((a) => ({ ...accountView(a, expand, facts.get(a.name)), ...lifecycle(defined.get(a.name), a) }));
  });

  app.get<{ Params: { account: string } }>('/credentials/:account', async (request) => {
    const name = request.params.account;
    const [account, definition] = await Promise.all([store.getAccount(name), definitions?.definition(name)]);
    if (!account) {
      if (definition !== undefined) return definedOnlyView(definition);
      throw new ScaleAgentError(Errors.ACCOUNT_NOT_FOUND, `account ${name} not found`, { account: name });
    }
    const facts = await cacheFacts(store, [account]);
    return {
      ...accountView(account, true, facts.get(account.name)),
      ...lifecycle(definition, account),
      cache: cacheView(await store.feedDigestStates(account.name), Date.now()),
    };
  });

  if (definitions !== undefined) accountManagementRoutes(app, definitions, auth);
}

function accountManagementRoutes(app: FastifyInstance, definitions: DefinitionService, auth: RouteContext['auth']): void {
  const writer = (request: FastifyRequest) => {
    auth.requireAdmin(request);
    return auth.taskCreator(request);
  };

  app.get<{ Params: { type: string } }>('/credentials/type/:type', async (request) => {
    auth.requireAdmin(request);
    if (request.params.type !== KUBERNETES_TYPE) return [];
    const query = queryOf(request.query);
    const from = query.startingAccountName;
    const all = [...(await definitions.definitionsByName()).values()].filter((d) => d.desiredState !== 'deleting' && (from === undefined || d.name >= from));
    return all.slice(0, limitParam(query.limit, DEFAULT_TYPE_LIST, MAX_TYPE_LIST)).map(managementBody);
  });

  app.post('/credentials', { bodyLimit: DEFINITION_BODY_LIMIT_BYTES }, async (request) => {
    const by = writer(request);
    const { entry } = await asClouddriver(() => definitions.create(accountFromManagementBody(request.body), by));
    return managementBody(entry.definition!);
  });

  app.put('/credentials', { bodyLimit: DEFINITION_BODY_LIMIT_BYTES }, async (request) => {
    const by = writer(request);
    const { entry } = await asClouddriver(() => definitions.save(accountFromManagementBody(request.body), by));
    return managementBody(entry.definition!);
  });

  // `name`, not `account`: the admin role is checked here, not the account's READ.
  app.put<{ Params: { name: string } }>('/credentials/:name', { bodyLimit: DEFINITION_BODY_LIMIT_BYTES }, async (request) => {
    const by = writer(request);
    const account = accountFromManagementBody(request.body);
    if (account.name !== undefined && account.name !== request.params.name) {
      throw new ScaleAgentError(
        Errors.REQUEST_INVALID,
        `Mismatched account names. URI value: ${request.params.name}. Request body value: ${String(account.name)}.`,
        { field: 'name' },
      );
    }
    const { entry } = await asClouddriver(() => definitions.update(request.params.name, account, by));
    return managementBody(entry.definition!);
  });

  app.delete<{ Params: { name: string } }>('/credentials/:name', async (request, reply) => {
    const by = writer(request);
    try {
      await asClouddriver(() => definitions.delete(request.params.name, by));
    } catch (err) {
      // Clouddriver deletes what is not there without complaint.
      if (!isScaleAgentError(err, Errors.ACCOUNT_DEFINITION_NOT_FOUND.code)) throw err;
    }
    return reply.send();
  });
}
