import { requestInvalid } from '../http-errors.ts';

/**
 * Lenient readers for operation descriptions: Orca sends the whole stage context, so unknown fields are
 * ignored, but a field we use with the wrong type is a 400 naming its path, e.g.
 * `[0].deployManifest.manifests[2]: kind is required`.
 */
export type Obj = Record<string, unknown>;

export function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function at(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

export function invalid(path: string, message: string): never {
  throw requestInvalid(path === '' ? message : `${path}: ${message}`, { field: path });
}

export function expectObject(value: unknown, path: string, what = 'an object'): Obj {
  if (!isObject(value)) invalid(path, `expected ${what}`);
  return value;
}

export function optionalString(source: Obj, key: string, path: string): string | undefined {
  const value = source[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') invalid(at(path, key), 'expected a string');
  return value;
}

export function requiredString(source: Obj, key: string, path: string): string {
  const value = optionalString(source, key, path);
  if (value === undefined || value.trim() === '') invalid(at(path, key), 'is required');
  return value;
}

export function optionalBoolean(source: Obj, key: string, path: string): boolean | undefined {
  const value = source[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  // Orca's SpEL-evaluated contexts sometimes carry booleans as strings.
  if (value === 'true' || value === 'false') return value === 'true';
  invalid(at(path, key), 'expected a boolean');
}

/** Kubernetes counts (replicas, revisions back) are int32. */
export const KUBERNETES_INT32_MAX = 2_147_483_647;

export function optionalInteger(source: Obj, key: string, path: string): number | undefined {
  const value = source[key];
  if (value === undefined || value === null) return undefined;
  const number = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number))
    invalid(at(path, key), `expected an integer between ${Number.MIN_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`);
  return number;
}

export function optionalArray(source: Obj, key: string, path: string): unknown[] | undefined {
  const value = source[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) invalid(at(path, key), 'expected a list');
  return value;
}

export function optionalStringArray(source: Obj, key: string, path: string): string[] | undefined {
  const values = optionalArray(source, key, path);
  if (values === undefined) return undefined;
  return values.map((v, i) => {
    if (typeof v !== 'string') invalid(at(at(path, key), i), 'expected a string');
    return v;
  });
}

export function optionalObject(source: Obj, key: string, path: string): Obj | undefined {
  const value = source[key];
  if (value === undefined || value === null) return undefined;
  return expectObject(value, at(path, key));
}

/**
 * The account an operation names: `account`, or `credentials` as older Orca stages and Deck's ad-hoc
 * operations send it (Clouddriver's converters accept both).
 */
export function accountOf(source: Obj, path: string): string {
  const account = optionalString(source, 'account', path);
  if (account !== undefined && account.trim() !== '') return account.trim();
  const credentials = optionalString(source, 'credentials', path);
  if (credentials !== undefined && credentials.trim() !== '') return credentials.trim();
  invalid(at(path, 'account'), 'is required');
}

/** An integer given as a number or a numeric string (SpEL often produces strings); undefined when absent. */
/** A non-negative Kubernetes count (int32): `replicas: 1e12` is refused here, not by the agent. */
export function optionalCount(source: Obj, key: string, path: string): number | undefined {
  const value = optionalInteger(source, key, path);
  if (value !== undefined && value < 0) invalid(at(path, key), 'must not be negative');
  if (value !== undefined && value > KUBERNETES_INT32_MAX) invalid(at(path, key), `must be at most ${KUBERNETES_INT32_MAX} (Kubernetes counts are 32-bit)`);
  return value;
}
