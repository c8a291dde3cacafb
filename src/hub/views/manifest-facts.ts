import { splitApiVersion, type KubeObject } from '../../common/kube-object.ts';
import { manifestArtifacts } from '../manifest/artifacts.ts';
import { fullResourceName, resolveKind, splitFullResourceName } from '../store/kind-names.ts';

/**
 * What the views read from a manifest, as pure functions of the manifest. They run once per object
 * version (src/hub/views/resource.ts keeps the results), never per request.
 */
export type Obj = Record<string, unknown>;

export function asObject(value: unknown): Obj | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Obj) : undefined;
}

export function asList(value: unknown): Obj[] {
  return Array.isArray(value) ? value.map(asObject).filter((v): v is Obj => v !== undefined) : [];
}

export function stringMap(value: unknown): Record<string, string> {
  const map = asObject(value);
  if (!map) return {};
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(map)) if (typeof v === 'string') out[key] = v;
  return out;
}

/** `spinnaker.io` annotation listing the load balancers a workload should be attached to. */
export const TRAFFIC_LOAD_BALANCERS_ANNOTATION = 'traffic.spinnaker.io/load-balancers';

/** An owner reference with its API group split out. */
export interface OwnerRef {
  group: string;
  kind: string;
  name: string;
  uid?: string;
}

export function ownerRefsOf(manifest: KubeObject): OwnerRef[] {
  const out: OwnerRef[] = [];
  for (const ref of asList(manifest.metadata?.ownerReferences)) {
    if (typeof ref.kind !== 'string' || typeof ref.name !== 'string') continue;
    const { group } = splitApiVersion(typeof ref.apiVersion === 'string' ? ref.apiVersion : '');
    out.push(
      typeof ref.uid === 'string' && ref.uid !== '' ? { group, kind: ref.kind, name: ref.name, uid: ref.uid } : { group, kind: ref.kind, name: ref.name },
    );
  }
  return out;
}

/** The labels a workload's pods get: spec.template.metadata.labels (a CronJob: its job template's). */
export function podTemplateLabels(manifest: KubeObject): Record<string, string> | undefined {
  const spec = asObject(manifest.spec);
  if (!spec) return undefined;
  const template = manifest.kind === 'CronJob' ? asObject(asObject(asObject(spec.jobTemplate)?.spec)?.template) : asObject(spec.template);
  const labels = asObject(asObject(template?.metadata)?.labels);
  return labels === undefined ? undefined : stringMap(labels);
}

/** A Service's selector; empty selects nothing. */
export function serviceSelector(manifest: KubeObject): Record<string, string> {
  return stringMap(asObject(manifest.spec)?.selector);
}

/** The Service names an Ingress routes to (networking.k8s.io/v1 and the v1beta1 shapes). */
export function ingressBackendServices(manifest: KubeObject): string[] {
  const spec = asObject(manifest.spec);
  if (!spec) return [];
  const names = new Set<string>();
  const add = (backend: unknown) => {
    const b = asObject(backend);
    if (!b) return;
    const v1 = asObject(b.service)?.name;
    if (typeof v1 === 'string' && v1 !== '') names.add(v1);
    if (typeof b.serviceName === 'string' && b.serviceName !== '') names.add(b.serviceName);
  };
  add(spec.defaultBackend);
  add(spec.backend);
  for (const rule of asList(spec.rules)) {
    for (const path of asList(asObject(rule.http)?.paths)) add(path.backend);
  }
  return [...names];
}

/** The full names in a workload's traffic annotation, spelled as Spinnaker spells them ("service web"). */
export function explicitLoadBalancers(annotations: Readonly<Record<string, string>>): string[] {
  const raw = annotations[TRAFFIC_LOAD_BALANCERS_ANNOTATION];
  if (raw === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const out: string[] = [];
  for (const entry of parsed) {
    if (typeof entry !== 'string') continue;
    const parts = splitFullResourceName(entry);
    const gk = parts ? resolveKind(parts.kindToken) : undefined;
    out.push(parts && gk ? fullResourceName(gk.group, gk.kind, parts.name) : entry.trim());
  }
  return out;
}

/** Container and init-container image references (Clouddriver's docker-image replacer), distinct. */
export function imagesOf(manifest: KubeObject): string[] {
  return [
    ...new Set(
      manifestArtifacts(manifest)
        .filter((a) => a.type === 'docker/image')
        .map((a) => a.reference),
    ),
  ];
}

/** spec.replicas, 0 when absent (Clouddriver's capacity.desired). */
export function desiredReplicas(manifest: KubeObject): number {
  const replicas = asObject(manifest.spec)?.replicas;
  return typeof replicas === 'number' && Number.isFinite(replicas) ? replicas : 0;
}

/** A StatefulSet's governing Service (spec.serviceName). */
export function governingService(manifest: KubeObject): string | undefined {
  const name = asObject(manifest.spec)?.serviceName;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

export interface PortRange {
  startPort?: number;
  endPort?: number;
  startPortName?: string;
  endPortName?: string;
}

export interface SecurityGroupRule {
  /** Jackson's type id for the rule (Clouddriver's RuleMixin). */
  class: string;
  protocol?: string;
  portRanges?: PortRange[];
}

const PORT_RULE_CLASS = 'com.netflix.spinnaker.clouddriver.kubernetes.caching.view.model.KubernetesSecurityGroup$PortRule';

function portRule(port: Obj): SecurityGroupRule {
  const rule: SecurityGroupRule = { class: PORT_RULE_CLASS };
  if (typeof port.protocol === 'string') rule.protocol = port.protocol;
  const value = port.port;
  if (typeof value === 'number' && Number.isInteger(value)) rule.portRanges = [{ startPort: value, endPort: value }];
  else if (typeof value === 'string' && /^-?\d+$/.test(value)) rule.portRanges = [{ startPort: Number(value), endPort: Number(value) }];
  else if (typeof value === 'string' && value !== '') rule.portRanges = [{ startPortName: value, endPortName: value }];
  return rule;
}

/** A NetworkPolicy's port rules, one per distinct (protocol, port), as Clouddriver's KubernetesSecurityGroup lists them. */
export function policyRules(policy: KubeObject, direction: 'ingress' | 'egress'): SecurityGroupRule[] {
  const out = new Map<string, SecurityGroupRule>();
  for (const entry of asList(asObject(policy.spec)?.[direction])) {
    for (const port of asList(entry.ports)) {
      const rule = portRule(port);
      out.set(JSON.stringify(rule), rule);
    }
  }
  return [...out.values()];
}

/** The names of a pod's init and app containers, in order. */
export function containerNames(manifest: KubeObject): string[] {
  const spec = asObject(manifest.spec);
  return [...asList(spec?.initContainers), ...asList(spec?.containers)].map((c) => c.name).filter((n): n is string => typeof n === 'string');
}
