/**
 * Role lists and account permissions, normalised one way wherever they come from (the hub's
 * configuration, an agent's AccountInfo, a trusted Gate's roles header).
 *
 * A role is one word: trimmed, lower-cased (Fiat lower-cases role names too), non-empty, with no
 * whitespace or comma inside. Anything else is malformed, and a malformed list is never read as "no
 * restriction": the Armory agent silently opened an account to everyone when a role list held a space.
 * The hub refuses to start over a malformed list in its own configuration, and closes an account whose
 * agent sent one.
 */

/** The authorizations of Fiat's resource permissions; accounts use READ and WRITE. */
export const AUTHORIZATIONS = ['READ', 'WRITE', 'EXECUTE', 'CREATE'] as const;
export type Authorization = (typeof AUTHORIZATIONS)[number];

/** Account permissions as Clouddriver shows them: authorization → roles (normalised). */
export type PermissionMap = Partial<Record<Authorization, string[]>>;

export interface RoleProblem {
  /** Where in the list (or map) the problem is: an index, or an authorization then an index. */
  path: Array<string | number>;
  message: string;
}

const WHITESPACE = /\s/;

/** Why one role is malformed, or undefined when it is fine. */
export function roleProblem(role: unknown): string | undefined {
  if (typeof role !== 'string')
    return `a role must be a string, got ${role === null ? 'null' : Array.isArray(role) ? 'a list' : typeof role} (${JSON.stringify(role) ?? String(role)})`;
  const trimmed = role.trim();
  if (trimmed === '') return 'a role must not be empty';
  if (WHITESPACE.test(trimmed)) return `role ${JSON.stringify(role)} contains whitespace; a role is one word (write one list entry per role)`;
  if (trimmed.includes(',')) return `role ${JSON.stringify(role)} contains a comma; write one list entry per role`;
  return undefined;
}

export function normalizeRole(role: string): string {
  return role.trim().toLowerCase();
}

/**
 * Normalises a role list. Every entry must be a well-formed role, and no role may appear twice (after
 * trimming and lower-casing: "Dev" and "dev " are the same role, and listing both is a mistake worth
 * fixing). Returns the roles and every problem found.
 */
export function normalizeRoleList(list: unknown): { roles: string[]; problems: RoleProblem[] } {
  if (!Array.isArray(list)) {
    return {
      roles: [],
      problems: [{ path: [], message: `expected a list of roles, got ${list === null ? 'null' : typeof list} (${JSON.stringify(list) ?? String(list)})` }],
    };
  }
  const roles: string[] = [];
  const problems: RoleProblem[] = [];
  const seen = new Map<string, number>();
  list.forEach((entry, i) => {
    const problem = roleProblem(entry);
    if (problem !== undefined) {
      problems.push({ path: [i], message: problem });
      return;
    }
    const role = normalizeRole(entry as string);
    const first = seen.get(role);
    if (first !== undefined) {
      problems.push({ path: [i], message: `role "${role}" is listed twice (entries ${first} and ${i}; roles compare trimmed and lower-cased)` });
      return;
    }
    seen.set(role, i);
    roles.push(role);
  });
  return { roles, problems };
}

function isAuthorization(key: string): key is Authorization {
  return (AUTHORIZATIONS as readonly string[]).includes(key);
}

/**
 * Normalises account permissions given as Clouddriver's map (`{READ: [..], WRITE: [..]}`) or the Armory
 * agent's list (`[{READ: [..]}, {WRITE: [..]}]`). Authorization names are case-insensitive; an unknown
 * one, an authorization given twice, or any malformed role list is a problem.
 */
export function normalizePermissions(raw: unknown): { permissions: PermissionMap; problems: RoleProblem[] } {
  const problems: RoleProblem[] = [];
  const permissions: PermissionMap = {};
  let entries: Array<{ path: Array<string | number>; key: string; value: unknown }> = [];
  if (raw === undefined || raw === null) return { permissions, problems };
  if (Array.isArray(raw)) {
    raw.forEach((item, i) => {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) {
        problems.push({ path: [i], message: `expected a map like {READ: [role, …]}, got ${JSON.stringify(item) ?? String(item)}` });
        return;
      }
      for (const [key, value] of Object.entries(item)) entries.push({ path: [i, key], key, value });
    });
  } else if (typeof raw === 'object') {
    entries = Object.entries(raw).map(([key, value]) => ({ path: [key], key, value }));
  } else {
    return { permissions, problems: [{ path: [], message: `expected a map like {READ: [role, …], WRITE: [role, …]}, got ${JSON.stringify(raw)}` }] };
  }
  for (const { path, key, value } of entries) {
    const authorization = key.trim().toUpperCase();
    if (!isAuthorization(authorization)) {
      problems.push({ path, message: `unknown authorization "${key}"; use ${AUTHORIZATIONS.join(', ')}` });
      continue;
    }
    if (permissions[authorization] !== undefined) {
      problems.push({ path, message: `authorization ${authorization} is given twice` });
      continue;
    }
    const list = normalizeRoleList(value);
    for (const p of list.problems) problems.push({ path: [...path, ...p.path], message: p.message });
    permissions[authorization] = list.roles;
  }
  return { permissions, problems };
}

/** Whether any authorization names a role: Fiat's "restricted" (all lists empty means unrestricted). */
export function isRestricted(permissions: PermissionMap): boolean {
  return Object.values(permissions).some((roles) => roles !== undefined && roles.length > 0);
}

/** "READ[1]" style text for a problem's path inside permissions (for log lines). */
export function problemText(problem: RoleProblem): string {
  const where = problem.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${p}`)).join('');
  return where === '' ? problem.message : `${where}: ${problem.message}`;
}
