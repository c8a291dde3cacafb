import type { KubeObject } from '../../../common/kube-object.ts';
import type { OperationOutcome, OperationRouter, ResourceTarget } from '../../router/types.ts';
import { HTTP_BAD_REQUEST, HTTP_NOT_FOUND } from '../../../common/http-status.ts';

/**
 * Reads the cache cannot answer, sent through the agent holding the account (as Clouddriver calls
 * kubectl): pod logs, and objects of kinds the account does not watch. Each answers undefined when no
 * agent serves the account on this replica or the read fails; callers fall back to what Clouddriver
 * shows when kubectl fails.
 */
export const LIVE_READ_TIMEOUT_MS = 5_000;

/** Whether an operation answered with the API server's success (a 2xx or 3xx, no error code). */
export function succeeded(outcome: OperationOutcome): boolean {
  return outcome.errorCode === null && outcome.httpStatus > 0 && outcome.httpStatus < HTTP_BAD_REQUEST;
}

export function target(group: string, kind: string, namespace: string, name = ''): ResourceTarget {
  return { group, version: '', kind, namespace, name };
}

export async function liveList(
  router: OperationRouter,
  account: string,
  of: ResourceTarget,
  selectors: { labelSelector?: string; fieldSelector?: string } = {},
  timeoutMs = LIVE_READ_TIMEOUT_MS,
): Promise<KubeObject[] | undefined> {
  if (!router.isConnected(account)) return undefined;
  const outcome = await router.execute(account, { type: 'list', target: of, ...selectors }, { timeoutMs });
  if (!succeeded(outcome)) return undefined;
  const items = (outcome.body as { items?: unknown } | null)?.items;
  return Array.isArray(items) ? items.filter((i): i is KubeObject => typeof i === 'object' && i !== null) : [];
}

/** The object, null when the API server says it does not exist, undefined when it could not be read. */
export async function liveGet(
  router: OperationRouter,
  account: string,
  of: ResourceTarget,
  timeoutMs = LIVE_READ_TIMEOUT_MS,
): Promise<KubeObject | null | undefined> {
  if (!router.isConnected(account)) return undefined;
  const outcome = await router.execute(account, { type: 'get', target: of }, { timeoutMs });
  if (outcome.httpStatus === HTTP_NOT_FOUND) return null;
  if (!succeeded(outcome)) return undefined;
  return typeof outcome.body === 'object' && outcome.body !== null ? (outcome.body as KubeObject) : undefined;
}

/** A container's log (`kubectl logs <pod> -c <container>`). */
export async function podLogs(
  router: OperationRouter,
  account: string,
  namespace: string,
  pod: string,
  container: string,
  timeoutMs = LIVE_READ_TIMEOUT_MS,
): Promise<string | undefined> {
  if (!router.isConnected(account)) return undefined;
  const outcome = await router.execute(account, { type: 'logs', target: target('', 'Pod', namespace, pod), container }, { timeoutMs });
  if (!succeeded(outcome)) return undefined;
  return typeof outcome.body === 'string' ? outcome.body : '';
}
