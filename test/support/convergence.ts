import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { waitFor } from '../../src/common/time.ts';
import { simRequest, type SimAccess } from './system.ts';

/** A kind compared object by object between a sim cluster and the hub's database. */
export interface ComparedKind {
  group: string;
  kind: string;
  /** The all-namespaces list path at the sim. */
  path: string;
  /** The kind may not exist at the sim (a CRD that is not there): a 404 list means "no objects". */
  optional?: boolean;
}

/** Kinds every convergence check compares: the churned ones and the controller-made ones. */
export const CORE_KINDS: ComparedKind[] = [
  { group: '', kind: 'ConfigMap', path: '/api/v1/configmaps' },
  { group: '', kind: 'Namespace', path: '/api/v1/namespaces' },
  { group: 'apps', kind: 'Deployment', path: '/apis/apps/v1/deployments' },
  { group: 'apps', kind: 'ReplicaSet', path: '/apis/apps/v1/replicasets' },
  { group: '', kind: 'Pod', path: '/api/v1/pods' },
];

const keyOf = (group: string, kind: string, namespace: string, name: string) => `${group}/${kind}/${namespace}/${name}`;

/** key → resourceVersion of every object of the kinds at the sim. */
export async function simState(sim: SimAccess, kinds: ComparedKind[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const kind of kinds) {
    const list = await simRequest(sim, 'GET', kind.path);
    if (list.status === 404 && kind.optional) continue;
    assert.equal(list.status, 200, `list ${kind.path}: ${JSON.stringify(list.body)}`);
    for (const item of list.body.items) out.set(keyOf(kind.group, kind.kind, item.metadata.namespace ?? '', item.metadata.name), item.metadata.resourceVersion);
  }
  return out;
}

/** key → resourceVersion of every object of the kinds in the hub's SQLite cache for one account. */
export function hubState(dbPath: string, account: string, kinds: ComparedKind[]): Map<string, string> {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT api_group, kind, namespace, name, resource_version FROM objects WHERE account = ?').all(account) as Array<
      Record<string, string>
    >;
    const wanted = new Set(kinds.map((k) => `${k.group}/${k.kind}`));
    const out = new Map<string, string>();
    for (const row of rows) {
      if (!wanted.has(`${row.api_group}/${row.kind}`)) continue;
      out.set(keyOf(row.api_group!, row.kind!, row.namespace!, row.name!), row.resource_version!);
    }
    return out;
  } finally {
    db.close();
  }
}

/** Every way the hub's view differs from the sim's, one line each. */
export function difference(expected: Map<string, string>, actual: Map<string, string>): string[] {
  const problems: string[] = [];
  for (const [key, rv] of expected) if (actual.get(key) !== rv) problems.push(`${key}: sim ${rv}, hub ${actual.get(key) ?? 'missing'}`);
  for (const key of actual.keys()) if (!expected.has(key)) problems.push(`${key}: stale at the hub`);
  return problems;
}

/** Waits until the hub's cache of `account` equals the sim cluster object by object; fails listing the differences. */
export async function assertConverged(options: { sim: SimAccess; dbPath: string; account: string; kinds: ComparedKind[]; timeoutMs: number }): Promise<void> {
  let problems: string[] = [];
  await waitFor(
    async () => {
      const expected = await simState(options.sim, options.kinds);
      assert.ok(expected.size > 0, 'the sim has objects to compare');
      problems = difference(expected, hubState(options.dbPath, options.account, options.kinds));
      return problems.length === 0;
    },
    { timeoutMs: options.timeoutMs, intervalMs: 100, what: `the hub's cache of ${options.account} to equal the sim` },
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}; differences: ${problems.slice(0, 10).join('; ')} (${problems.length} in all)`);
  });
}
