import type { FastifyInstance } from 'fastify';
import { Errors, ScaleAgentError } from '../../../common/errors.ts';
import type { KubeObject } from '../../../common/kube-object.ts';
import { resolveKind, splitFullResourceName } from '../../store/kind-names.ts';
import type { AccountRecord } from '../../store/types.ts';
import { withStatus } from '../http-errors.ts';
import { jobStatusView, parseProperties, propertyPod } from '../responses/job-view.ts';
import { liveGet, liveList, podLogs, target } from '../responses/live-reads.ts';
import type { RouteContext } from './route-context.ts';
import { HTTP_NOT_IMPLEMENTED } from '../../../common/http-status.ts';

interface JobParams {
  application: string;
  account: string;
  location: string;
  id: string;
}

type Obj = Record<string, unknown>;

function watches(account: AccountRecord, group: string, kind: string): boolean {
  return account.kinds.some((k) => k.group === group && k.kind === kind && k.watchable);
}

function parseBody(body: string): KubeObject | undefined {
  try {
    const parsed = JSON.parse(body) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as KubeObject) : undefined;
  } catch {
    return undefined;
  }
}

/** "job pi-x7k2p" (what Orca sends) or a bare name; other kinds are not jobs. */
function jobName(id: string): string | undefined {
  const parts = splitFullResourceName(id);
  if (!parts) return id.includes(' ') || id === '' ? undefined : id;
  const gk = resolveKind(parts.kindToken);
  return gk && gk.group === 'batch' && gk.kind === 'Job' ? parts.name : undefined;
}

function matchLabels(job: KubeObject): Record<string, string> {
  const labels = ((job.spec as Obj | undefined)?.selector as Obj | undefined)?.matchLabels;
  return typeof labels === 'object' && labels !== null ? (labels as Record<string, string>) : {};
}

function ownedBy(pod: KubeObject, job: KubeObject): boolean {
  const selector = matchLabels(job);
  const keys = Object.keys(selector);
  if (keys.length > 0) return keys.every((k) => pod.metadata?.labels?.[k] === selector[k]);
  return (pod.metadata?.ownerReferences ?? []).some((o) => o.kind === 'Job' && (o.uid === job.metadata?.uid || o.name === job.metadata?.name));
}

/**
 * Run Job support: GET (and Gate's POST) /applications/{app}/jobs/{account}/{location}/{id} with the
 * job's status, the property file parsed from a job pod's log (…/{id}/{fileName}, the container named
 * fileName), and the same from one pod (/applications/{app}/kubernetes/pods/…). The Job and its pods
 * come from the cache, or live through the agent for kinds the account does not watch; logs are always
 * live. Property files answer {} when nothing can be read, as Clouddriver does.
 */
export function jobRoutes(app: FastifyInstance, { store, router }: RouteContext): void {
  async function accountOf(name: string): Promise<AccountRecord> {
    const account = await store.getAccount(name);
    if (!account) throw new ScaleAgentError(Errors.ACCOUNT_NOT_FOUND, `account ${name} not found`, { account: name });
    return account;
  }

  async function findJob(account: AccountRecord, namespace: string, name: string): Promise<KubeObject | undefined> {
    if (watches(account, 'batch', 'Job')) {
      const cached = await store.getObject(account.name, 'batch', 'Job', namespace, name);
      return cached ? parseBody(cached.body) : undefined;
    }
    return (await liveGet(router, account.name, target('batch', 'Job', namespace, name))) ?? undefined;
  }

  async function podsOf(account: AccountRecord, job: KubeObject): Promise<KubeObject[]> {
    const namespace = job.metadata?.namespace ?? '';
    const name = job.metadata?.name ?? '';
    if (watches(account, '', 'Pod')) {
      // The Job controller names its pods "<job>-…" (generateName).
      const cached = await store.searchObjects({ account: account.name, kinds: [{ group: '', kind: 'Pod' }], namespace, namePrefix: `${name}-` });
      return cached.map((o) => parseBody(o.body)).filter((p): p is KubeObject => p !== undefined && ownedBy(p, job));
    }
    const selector = Object.entries(matchLabels(job))
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const live = await liveList(router, account.name, target('', 'Pod', namespace), selector === '' ? {} : { labelSelector: selector });
    return (live ?? []).filter((p) => ownedBy(p, job));
  }

  async function jobOrNotFound(params: JobParams): Promise<{ account: AccountRecord; job: KubeObject }> {
    const account = await accountOf(params.account);
    const name = jobName(params.id);
    const job = name === undefined ? undefined : await findJob(account, params.location, name);
    if (!job) {
      throw new ScaleAgentError(Errors.NOT_FOUND, `Job not found (account: ${params.account}, location: ${params.location}, id: ${params.id})`, {
        account: params.account,
        location: params.location,
        id: params.id,
      });
    }
    return { account, job };
  }

  const collect = async (request: { params: JobParams }) => {
    const { account, job } = await jobOrNotFound(request.params);
    return jobStatusView(account.name, job, await podsOf(account, job));
  };
  app.get<{ Params: JobParams }>('/applications/:application/jobs/:account/:location/:id', collect);
  app.post<{ Params: JobParams }>('/applications/:application/jobs/:account/:location/:id', collect);
  // Clouddriver's Kubernetes provider does not cancel jobs either (Orca's cancel retries, then gives up);
  // a Run Job stage is stopped by deleting the Job (Delete Manifest).
  app.delete<{ Params: JobParams }>('/applications/:application/jobs/:account/:location/:id', async () => {
    throw new ScaleAgentError(withStatus(Errors.OPERATION_UNSUPPORTED, HTTP_NOT_IMPLEMENTED), 'cancelJob is not implemented for the Kubernetes provider');
  });

  app.get<{ Params: JobParams & { fileName: string } }>('/applications/:application/jobs/:account/:location/:id/:fileName', async (request) => {
    const account = await accountOf(request.params.account);
    const name = jobName(request.params.id);
    const job = name === undefined ? undefined : await findJob(account, request.params.location, name);
    if (!job) return {};
    const pod = propertyPod(await podsOf(account, job));
    if (!pod?.metadata?.name) return {};
    const log = await podLogs(router, account.name, job.metadata?.namespace ?? request.params.location, pod.metadata.name, request.params.fileName);
    return (log === undefined ? undefined : parseProperties(log)) ?? {};
  });

  app.get<{ Params: { application: string; account: string; namespace: string; podName: string; fileName: string } }>(
    '/applications/:application/kubernetes/pods/:account/:namespace/:podName/:fileName',
    async (request) => {
      const { account, namespace, podName, fileName } = request.params;
      await accountOf(account);
      const log = await podLogs(router, account, namespace, podName, fileName);
      return (log === undefined ? undefined : parseProperties(log)) ?? {};
    },
  );
}
