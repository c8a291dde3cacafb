import type { KubeObject } from '../../../common/kube-object.ts';
import { knownKind, resolveKind, splitFullResourceName } from '../../store/kind-names.ts';
import { Cluster, describeTarget } from './cluster.ts';
import { isObject, optionalStringArray } from './fields.ts';
import { kubeSelectorText } from './label-selector.ts';
import { manifestOp, namedResult } from './manifest-op.ts';
import type { OpHandler } from './op-handler.ts';
import { invalidOperation } from './operation-failure.ts';
import { supports, type ManifestTarget } from './targets.ts';
import { TRAFFIC_ANNOTATION } from './deploy-manifest.ts';

/**
 * enableManifest / disableManifest, as Clouddriver's AbstractKubernetesEnableDisableManifestOperation:
 * for each load balancer (the request's `loadBalancers`, else the workload's
 * `traffic.spinnaker.io/load-balancers` annotation) read the Service, and JSON-patch its selector's
 * labels into (enable) or out of (disable) the workload's pod template labels — then, for a ReplicaSet,
 * into or out of each of its pods, so traffic moves now and not only for pods made later. Each patch is
 * computed from the object as read and recomputed after a conflict.
 */
type Direction = 'enable' | 'disable';

interface JsonPatchOp {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

function pointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** Where the labels that Services select live: the pod template's, else the object's own (a Pod). */
function labelsOf(object: KubeObject): { prefix: string; labels: Record<string, string> | undefined } {
  const spec = isObject(object.spec) ? object.spec : undefined;
  const template = spec && isObject(spec.template) ? spec.template : undefined;
  const templateMeta = template && isObject(template.metadata) ? template.metadata : undefined;
  if (templateMeta && isObject(templateMeta.labels)) return { prefix: '/spec/template/metadata/labels', labels: templateMeta.labels as Record<string, string> };
  return { prefix: '/metadata/labels', labels: object.metadata?.labels };
}

/** Clouddriver's KubernetesServiceHandler attachPatch / detachPatch. */
export function trafficPatch(direction: Direction, selector: Record<string, string>, object: KubeObject): JsonPatchOp[] {
  const { prefix, labels } = labelsOf(object);
  const ops: JsonPatchOp[] = [];
  if (direction === 'enable') {
    if (labels === undefined && Object.keys(selector).length > 0) ops.push({ op: 'add', path: prefix, value: {} });
    for (const [key, value] of Object.entries(selector)) {
      if (labels?.[key] === value) continue;
      ops.push({ op: labels && key in labels ? 'replace' : 'add', path: `${prefix}/${pointer(key)}`, value });
    }
  } else {
    for (const key of Object.keys(selector)) if (labels && key in labels) ops.push({ op: 'remove', path: `${prefix}/${pointer(key)}` });
  }
  return ops;
}

function serviceSelector(service: KubeObject): Record<string, string> {
  const spec = isObject(service.spec) ? service.spec : {};
  const selector = isObject(spec.selector) ? spec.selector : {};
  return Object.fromEntries(Object.entries(selector).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function loadBalancersOf(target: KubeObject, given: string[]): string[] {
  if (given.length > 0) return given;
  const value = target.metadata?.annotations?.[TRAFFIC_ANNOTATION];
  if (value === undefined) return [];
  try {
    const parsed = JSON.parse(value) as unknown;
    return Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

/** The pods a ReplicaSet owns (Clouddriver's HasPods: its selector, then the owner reference). */
async function podsOf(cluster: Cluster, target: ManifestTarget, workload: KubeObject): Promise<KubeObject[]> {
  const selector = kubeSelectorText(isObject(workload.spec) ? workload.spec.selector : undefined);
  const pods = await cluster.list({ group: '', version: '', kind: 'Pod', namespace: target.namespace }, selector);
  return pods.filter((p) => (p.metadata?.ownerReferences ?? []).some((ref) => ref.name === target.name));
}

function trafficOp(direction: Direction): OpHandler {
  const verb = direction === 'enable' ? 'Enable' : 'Disable';
  const phase = `${direction.toUpperCase()}_MANIFEST`;
  return manifestOp<{ loadBalancers: string[] }>({
    name: `${direction}Manifest`,
    operationClass: `Kubernetes${verb}ManifestOperation`,
    phase,
    validatorContext: `${direction}KubernetesManifest`,
    idempotent: true,
    parse(source, path) {
      return { loadBalancers: (optionalStringArray(source, 'loadBalancers', path) ?? []).filter((l) => l.trim() !== '') };
    },
    async run({ account, target, extra, ctx, status }) {
      await status(`Starting ${direction} operation in account ${account.name}...`);
      const cluster = new Cluster(ctx, account);
      const workload = await cluster.get(target);
      if (!workload) throw invalidOperation(`Could not find kubernetes manifest: ${describeTarget(target)}`);
      await status(`Getting load balancer list to ${direction}...`);
      const loadBalancers = loadBalancersOf(workload, extra.loadBalancers);
      await status(`Using ${extra.loadBalancers.length > 0 ? 'supplied' : 'annotated'} list [${loadBalancers.join(', ')}]`);
      let pods = 0;
      for (const name of loadBalancers) {
        const split = splitFullResourceName(name);
        if (!split)
          throw invalidOperation(
            `Failed to perform operation with load balancer '${name}'. Load balancers must be specified in the form '{kind} {name}', e.g. 'service my-service'`,
          );
        const gk = resolveKind(split.kindToken, account.kinds);
        if (!gk || knownKind(gk.group, gk.kind)?.kind !== 'Service')
          throw invalidOperation(`No support for load balancing via ${split.kindToken} exists in Spinnaker`);
        const service = await cluster.get({ group: gk.group, version: '', kind: gk.kind, namespace: target.namespace, name: split.name });
        if (!service) throw invalidOperation(`Could not find load balancer: ${name} in ${target.namespace}.`);
        const selector = serviceSelector(service);
        await status(`Patching target for '${name}'`);
        await cluster.readModifyPatch(target, (current) => {
          const ops = trafficPatch(direction, selector, current);
          return ops.length === 0 ? undefined : { type: 'json', patch: ops };
        });
        if (supports(target, 'pods')) {
          await status(`Patching pods for '${name}'`);
          for (const pod of await podsOf(cluster, target, workload)) {
            const podTarget = { group: '', version: '', kind: 'Pod', namespace: target.namespace, name: pod.metadata?.name ?? '' };
            // A pod that went away meanwhile (scaled down, replaced) needs no label.
            const patched = await cluster.readModifyPatch(
              podTarget,
              (current) => {
                const ops = trafficPatch(direction, selector, current);
                return ops.length === 0 ? undefined : { type: 'json', patch: ops };
              },
              { ifMissing: 'skip' },
            );
            if (patched) pods++;
          }
        }
      }
      await status(`${verb} operation for ${describeTarget(target)} succeeded`);
      return namedResult(target, { loadBalancers, ...(supports(target, 'pods') ? { podsPatched: pods } : {}) });
    },
  });
}

export const enableManifestOp = trafficOp('enable');
export const disableManifestOp = trafficOp('disable');
