import { OMIT_NAMESPACES_PROPERTY, splitNamespaces } from '../../../common/account-properties.ts';
import { Errors, ScaleAgentError } from '../../../common/errors.ts';
import { fullResourceName, knownKind, resolveKind, splitFullResourceName } from '../../store/kind-names.ts';
import type { AccountRecord } from '../../store/types.ts';
import type { ResourceTarget } from '../../router/types.ts';
import { at, invalid, optionalString, type Obj } from './fields.ts';
import { namespacedKind } from './scope.ts';

/**
 * The object a manifest operation addresses: `manifestName` ("deployment nginx") in `location`, resolved
 * against the kinds the account's agent discovered. Clouddriver reports results under the location it
 * was given, even for cluster-scoped kinds; `location` keeps it for that.
 */
export interface ManifestTarget extends ResourceTarget {
  /** The location as given ("" when absent). */
  location: string;
  /** Clouddriver's full resource name in its own spelling, e.g. "deployment nginx". */
  fullName: string;
  namespaced: boolean;
}

/** Which Clouddriver handler capabilities a kind has (CanScale, CanResize, CanRollout, …). */
type Capability = 'scale' | 'resize' | 'rollout' | 'pause' | 'traffic' | 'pods';

const CAPABILITIES: Record<string, readonly Capability[]> = {
  Deployment: ['scale', 'resize', 'rollout', 'pause', 'traffic'],
  ReplicaSet: ['scale', 'resize', 'traffic', 'pods'],
  StatefulSet: ['scale', 'resize', 'rollout', 'traffic'],
  DaemonSet: ['resize', 'rollout', 'traffic'],
  Job: ['traffic'],
  CronJob: ['traffic'],
  Pod: ['traffic'],
};

export function supports(target: Pick<ResourceTarget, 'group' | 'kind'>, capability: Capability): boolean {
  const known = knownKind(target.group, target.kind);
  return known !== undefined && (CAPABILITIES[known.kind] ?? []).includes(capability);
}

/**
 * Rejects a namespace the account does not serve, as Clouddriver's validators do
 * (KubernetesValidationUtil.validateNamespace): one outside the account's `namespaces` (when it has
 * some) is `wrongNamespace`, one of its `omitNamespaces` (declared by the agent, OMIT_NAMESPACES_PROPERTY)
 * is `omittedNamespace`. The agent never watches such a namespace, so a write there would never reach
 * the cache the task waits on. A 400 NAMESPACE_NOT_ALLOWED naming the field (`path`, which starts with the
 * operation's name), the namespace, the account and Clouddriver's validation error, e.g.
 * `deployKubernetesManifest.deployKubernetesManifest.team-c.wrongNamespace` (Clouddriver joins its
 * validator context twice). `defaulted`: no namespace was given and the manifest would go to this one,
 * the account's default namespace (DEFAULT_NAMESPACE_PROPERTY): Clouddriver does not check that one,
 * but the agent would write where it does not watch all the same.
 */
export function checkNamespace(account: AccountRecord, namespace: string, path: string, context: string, defaulted = false): void {
  if (namespace === '') return;
  const given = defaulted ? `no namespace is given, so the account's default namespace "${namespace}" would be used, but it` : `namespace "${namespace}"`;
  const refuse = (why: string, clouddriverError: string) => {
    throw new ScaleAgentError(Errors.NAMESPACE_NOT_ALLOWED, `${path}: ${given} ${why} (${context}.${context}.${namespace}.${clouddriverError})`, {
      field: path,
      namespace,
      account: account.name,
    });
  };
  if (account.namespaces.length > 0 && !account.namespaces.includes(namespace)) {
    refuse(`is not one of account ${account.name}'s namespaces (${account.namespaces.join(', ')})`, 'wrongNamespace');
  }
  const omitted = splitNamespaces(account.properties[OMIT_NAMESPACES_PROPERTY]);
  if (omitted.includes(namespace)) refuse(`is one of account ${account.name}'s omitted namespaces (omitNamespaces: ${omitted.join(', ')})`, 'omittedNamespace');
}

/** Resolves a kind token and a name in a location; 400s name the field (`path`: the kind's, `locationPath`: the namespace's). */
export function resolveTarget(account: AccountRecord, kindToken: string, name: string, location: string, path: string, locationPath: string): ManifestTarget {
  const gk = resolveKind(kindToken, account.kinds);
  if (!gk) invalid(path, `unknown kind "${kindToken}" in account ${account.name}`);
  const namespaced = namespacedKind(account, gk.group, gk.kind);
  if (namespaced && location === '') invalid(locationPath, `is required for the namespaced kind ${gk.kind}`);
  return {
    group: gk.group,
    version: '',
    kind: gk.kind,
    namespace: namespaced ? location : '',
    name,
    location,
    fullName: fullResourceName(gk.group, gk.kind, name),
    namespaced,
  };
}

/** `manifestName` + `location` of a description (`key` names the field, e.g. serverGroupName). */
export function parseTargetFields(
  source: Obj,
  path: string,
  key = 'manifestName',
  locationKeys: readonly string[] = ['location'],
): { kindToken: string; name: string; location: string; path: string; locationPath: string } {
  const manifestName = optionalString(source, key, path);
  if (manifestName === undefined || manifestName.trim() === '') invalid(at(path, key), 'is required');
  const split = splitFullResourceName(manifestName);
  if (!split) invalid(at(path, key), 'expected "<kind> <name>", e.g. "deployment nginx"');
  let location = '';
  for (const locationKey of locationKeys) {
    const value = optionalString(source, locationKey, path);
    if (value !== undefined && value.trim() !== '') {
      location = value.trim();
      break;
    }
  }
  return { kindToken: split.kindToken, name: split.name, location, path: at(path, key), locationPath: at(path, locationKeys[0] ?? 'location') };
}

/** The names of results: `{location: ["deployment nginx"]}` as Clouddriver's OperationResult has them. */
export function namesByNamespace(target: ManifestTarget): Record<string, string[]> {
  return { [target.location]: [target.fullName] };
}
