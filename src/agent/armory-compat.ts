import { formatPath, isPlainObject } from '../common/config.ts';
import { COMPAT_RULES, type CompatRule } from './armory-compat-rules.ts';

/*
 * The pre-pass that lets an Armory agent configuration run unchanged: before the strict validation,
 * each Armory key this agent does not take as is (armory-compat-rules.ts) is renamed, converted, or
 * removed with a warning saying why it has no effect here. Pure: no I/O, no logging.
 */

/** One warning for one reason, naming every key it concerns (e.g. the same field in several accounts). */
export interface ConfigWarning {
  keys: string[];
  message: string;
}

/** Beyond this many keys, a warning names the first ones and counts the rest. */
const MAX_NAMED_KEYS = 4;

export function formatWarning(warning: ConfigWarning): string {
  const named = warning.keys.slice(0, MAX_NAMED_KEYS).join(', ');
  const more = warning.keys.length > MAX_NAMED_KEYS ? ` and ${warning.keys.length - MAX_NAMED_KEYS} more` : '';
  return `${named}${more}: ${warning.message}`;
}

export interface CompatOutcome {
  /** The configuration in this agent's terms, still to be validated. */
  raw: unknown;
  warnings: ConfigWarning[];
  /** Armory keys whose values cannot be taken, as `path: message`. */
  problems: string[];
}

type Path = Array<string | number>;

function getAt(root: unknown, path: readonly (string | number)[]): unknown {
  let current = root;
  for (const segment of path) {
    if (!isPlainObject(current) && !Array.isArray(current)) return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}

/** Sets a value, creating the objects on the way; false when something on the way is not an object. */
function setAt(root: Record<string, unknown>, path: readonly (string | number)[], value: unknown): boolean {
  let current: Record<string | number, unknown> = root;
  for (const segment of path.slice(0, -1)) {
    const next = current[segment];
    if (next === undefined) current[segment] = {};
    else if (!isPlainObject(next) && !Array.isArray(next)) return false;
    current = current[segment] as Record<string | number, unknown>;
  }
  current[path.at(-1)!] = value;
  return true;
}

/** Where a rule applies: its path from the root, once per account for account rules. */
function placesOf(root: Record<string, unknown>, rule: CompatRule): Path[] {
  if (rule.scope === 'root') return [rule.path];
  const accounts = getAt(root, ['kubernetes', 'accounts']);
  if (!Array.isArray(accounts)) return [];
  return accounts.flatMap((account, i) => (isPlainObject(account) ? [['kubernetes', 'accounts', i, ...rule.path]] : []));
}

/** The target of a rename within an account stays in that account. */
function targetPath(rule: CompatRule, place: Path, path: string[]): Path {
  return rule.scope === 'account' ? [...place.slice(0, place.length - rule.path.length), ...path] : path;
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Maps an Armory agent configuration (parsed YAML) to this agent's keys; see the file comment. */
export function applyArmoryCompat(input: unknown): CompatOutcome {
  if (!isPlainObject(input)) return { raw: input, warnings: [], problems: [] };
  const root = structuredClone(input);
  const warnings = new Map<string, string[]>();
  const problems: string[] = [];
  const warn = (key: string, message: string) => warnings.set(message, [...(warnings.get(message) ?? []), key]);

  for (const rule of COMPAT_RULES) {
    for (const place of placesOf(root, rule)) {
      const parent = getAt(root, place.slice(0, -1));
      const key = place.at(-1)!;
      if (!isPlainObject(parent) || !Object.hasOwn(parent, key)) continue;
      const at = formatPath(place);
      const outcome = rule.convert(parent[key], root);
      if ('keep' in outcome) continue;
      // Taken, explained or refused here: either way the schema is not to see it again.
      delete parent[key];
      if ('problem' in outcome) {
        problems.push(`${at}: ${outcome.problem}`);
        continue;
      }
      if ('ignore' in outcome) {
        warn(at, `ignored: ${outcome.ignore}`);
        continue;
      }
      for (const target of outcome.set) {
        const to = targetPath(rule, place, target.path);
        const existing = getAt(root, to);
        if (existing !== undefined && !sameValue(existing, target.value)) {
          problems.push(`${at}: the same setting as ${formatPath(to)}, which is set too (to another value); keep one`);
        } else if (!setAt(root, to, target.value)) {
          problems.push(`${at}: cannot be moved to ${formatPath(to)}: something on the way is not a mapping`);
        }
      }
      if (outcome.warning !== undefined) warn(at, outcome.warning);
    }
  }
  return { raw: root, warnings: [...warnings].map(([message, keys]) => ({ keys, message })), problems };
}

/**
 * The Armory keys understood at a path (for "did you mean" on an unknown key): a misspelt
 * `reconectTimeoutMs` is pointed at `reconnectTimeoutMs`, which the pre-pass would have taken.
 */
export function armoryKeysAt(path: readonly PropertyKey[]): string[] {
  const inAccount = path.length === 3 && path[0] === 'kubernetes' && path[1] === 'accounts' && typeof path[2] === 'number';
  const keys = new Set<string>();
  for (const rule of COMPAT_RULES) {
    if (rule.scope === 'account') {
      if (inAccount) keys.add(rule.path[0]!);
    } else if (rule.path.length > path.length && path.every((segment, i) => rule.path[i] === segment)) {
      keys.add(rule.path[path.length]!);
    }
  }
  return [...keys];
}
