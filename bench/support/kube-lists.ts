import { DEFAULT_OMIT_KINDS } from '../../src/agent/config.ts';
import { exclusionReason, kindMatches } from '../../src/agent/account/kind-filter.ts';
import {
  DEFAULT_PAGE_SIZE,
  KubeClient,
  apiVersionOf,
  discoverResources,
  loadKubeconfig,
  resourcePath,
  type ApiResource,
  type KubeList,
} from '../../src/kube/index.ts';

/** A client for one cluster of the sim, from its kubeconfig (the same code path the agent uses). */
export async function clientFor(kubeconfig: string): Promise<KubeClient> {
  return new KubeClient(await loadKubeconfig({ path: kubeconfig }), { userAgent: 'scale-agent-bench' });
}

/**
 * The kinds a benchmark watches: those named (the agent's `kinds` syntax: Deployment, configmaps,
 * Ingress.networking.k8s.io), or by default every kind the agent watches when `kinds` is empty — all
 * discovered kinds with list and watch except DEFAULT_OMIT_KINDS.
 */
export async function resolveKinds(kubeconfig: string, names: string[] | undefined): Promise<ApiResource[]> {
  const client = await clientFor(kubeconfig);
  try {
    const discovery = await discoverResources(client);
    const preferred = discovery.resources.filter((r) => r.preferred);
    if (names === undefined || names.length === 0) {
      const selection = { kinds: [], omitKinds: [], defaultOmitKinds: DEFAULT_OMIT_KINDS, onlyNamespacedResources: false, hubKinds: [] };
      return preferred.filter((r) => exclusionReason(r, selection) === undefined);
    }
    const chosen: ApiResource[] = [];
    for (const name of names) {
      const matches = preferred.filter((r) => kindMatches(name, r) && r.verbs.includes('list') && r.verbs.includes('watch'));
      if (matches.length === 0) throw new Error(`--kinds: the sim serves no listable and watchable kind named ${JSON.stringify(name)}`);
      for (const m of matches) if (!chosen.includes(m)) chosen.push(m);
    }
    return chosen;
  } finally {
    await client.close();
  }
}

/** The agent's `kinds` entry naming exactly this resource. */
export function agentKindName(resource: ApiResource): string {
  return resource.group === '' ? resource.kind : `${resource.kind}.${resource.group}`;
}

/** client-node's informer inputs for a resource: apiVersion, kind and the all-namespaces watch path. */
export function informerKind(resource: ApiResource): { apiVersion: string; kind: string; path: string } {
  return { apiVersion: apiVersionOf(resource), kind: resource.kind, path: resourcePath(resource) };
}

export interface RawList {
  /** Every page as received, undecoded. */
  pages: Buffer[];
  objects: number;
  bytes: number;
}

/**
 * Lists one resource in all namespaces the way the agent's reflector does — pages of DEFAULT_PAGE_SIZE
 * with continue tokens over the same client — and keeps each page's raw bytes. (Each page is decoded
 * once here to read its continue token; that is not part of any timing.)
 */
export async function listRaw(client: KubeClient, resource: ApiResource, keepPages: boolean): Promise<RawList> {
  const path = resourcePath(resource);
  const pages: Buffer[] = [];
  let objects = 0;
  let bytes = 0;
  let token: string | undefined;
  do {
    const response = await client.request({ path, query: { limit: DEFAULT_PAGE_SIZE, ...(token ? { continue: token } : {}) }, accept: 'application/json' });
    if (response.status !== 200) throw new Error(`GET ${path}: HTTP ${response.status}: ${response.body.toString('utf8').slice(0, 300)}`);
    const page = JSON.parse(response.body.toString('utf8')) as KubeList;
    objects += page.items?.length ?? 0;
    bytes += response.body.length;
    if (keepPages) pages.push(response.body);
    token = page.metadata?.continue || undefined;
  } while (token !== undefined);
  return { pages, objects, bytes };
}

export interface ParseFloor {
  /** Seconds of the fastest repetition. */
  bestSeconds: number;
  runsSeconds: number[];
  objects: number;
  objectsPerSecond: number;
}

/**
 * The cost floor of an initial sync: decoding (UTF-8) and `JSON.parse` of every list page, nothing
 * else — the least any JavaScript client must do with the same bytes. Best of `repetitions`.
 */
export function timeJsonParse(pages: Buffer[], objects: number, repetitions: number): ParseFloor {
  const runsSeconds: number[] = [];
  let sink = 0;
  for (let r = 0; r < repetitions; r++) {
    const started = performance.now();
    for (const page of pages) {
      const parsed = JSON.parse(page.toString('utf8')) as KubeList;
      sink += parsed.items?.length ?? 0;
    }
    runsSeconds.push((performance.now() - started) / 1000);
  }
  if (sink !== objects * repetitions) throw new Error(`parsed ${sink / repetitions} objects per repetition, expected ${objects}`);
  const bestSeconds = Math.min(...runsSeconds);
  return { bestSeconds, runsSeconds, objects, objectsPerSecond: objects / bestSeconds };
}
