import { BUILTIN_RESOURCES } from './builtin-resources.ts';
import { apiVersionOf, type ResourceType } from './resource-type.ts';

/**
 * The kinds one cluster serves: the built-ins plus whatever its CustomResourceDefinitions add. Lookups are
 * by URL (group, version, plural — also accepting the singular or a short name where kubectl sends one)
 * and by apiVersion+kind (for in-process writes and owner references).
 */
export class ResourceRegistry {
  private readonly byPath = new Map<string, ResourceType>();
  private readonly byKind = new Map<string, ResourceType>();
  private readonly customByDefinition = new Map<string, ResourceType[]>();

  constructor() {
    for (const type of BUILTIN_RESOURCES) this.add(type);
  }

  private add(type: ResourceType): void {
    this.byPath.set(`${type.group}/${type.version}/${type.plural}`, type);
    this.byKind.set(`${apiVersionOf(type)}|${type.kind}`, type);
  }

  lookup(group: string, version: string, plural: string): ResourceType | undefined {
    return this.byPath.get(`${group}/${version}/${plural}`);
  }

  lookupKind(apiVersion: string, kind: string): ResourceType | undefined {
    return this.byKind.get(`${apiVersion}|${kind}`);
  }

  /** Registers the versions a CustomResourceDefinition serves (replacing what it served before). */
  setCustom(definitionName: string, types: ResourceType[]): void {
    this.removeCustom(definitionName);
    for (const type of types) this.add(type);
    this.customByDefinition.set(definitionName, types);
  }

  removeCustom(definitionName: string): ResourceType[] {
    const types = this.customByDefinition.get(definitionName) ?? [];
    for (const type of types) {
      this.byPath.delete(`${type.group}/${type.version}/${type.plural}`);
      this.byKind.delete(`${apiVersionOf(type)}|${type.kind}`);
    }
    this.customByDefinition.delete(definitionName);
    return types;
  }

  customTypes(definitionName: string): ResourceType[] {
    return this.customByDefinition.get(definitionName) ?? [];
  }

  all(): ResourceType[] {
    return [...this.byPath.values()];
  }

  /** Groups with their served versions, preferred version first; the core group ("") included. */
  groups(): Map<string, string[]> {
    const groups = new Map<string, Set<string>>();
    for (const type of this.byPath.values()) {
      let versions = groups.get(type.group);
      if (versions === undefined) groups.set(type.group, (versions = new Set()));
      versions.add(type.version);
    }
    const out = new Map<string, string[]>();
    for (const [group, versions] of groups) out.set(group, [...versions].sort(compareKubeVersions));
    return out;
  }

  resourcesIn(group: string, version: string): ResourceType[] {
    return [...this.byPath.values()].filter((t) => t.group === group && t.version === version);
  }
}

const VERSION_PATTERN = /^v(\d+)(?:(alpha|beta)(\d+))?$/;
const STABILITY_RANK: Record<string, number> = { '': 2, beta: 1, alpha: 0 };

/** Kubernetes version priority (GA before beta before alpha, higher numbers first), for preferred versions. */
export function compareKubeVersions(a: string, b: string): number {
  const ma = VERSION_PATTERN.exec(a);
  const mb = VERSION_PATTERN.exec(b);
  if (!ma || !mb) return ma ? -1 : mb ? 1 : a.localeCompare(b);
  const rank = STABILITY_RANK[mb[2] ?? '']! - STABILITY_RANK[ma[2] ?? '']!;
  if (rank !== 0) return rank;
  const major = Number(mb[1]) - Number(ma[1]);
  if (major !== 0) return major;
  return Number(mb[3] ?? 0) - Number(ma[3] ?? 0);
}
