import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { Errors, ScaleAgentError } from './errors.ts';

/**
 * Loads a YAML configuration file and validates it against a zod schema that carries every default.
 * Any problem fails with CONFIG_INVALID naming the file and the path of each bad key, so a broken
 * configuration stops the process at start instead of running on partial defaults.
 */
export function loadConfigFile<S extends z.ZodType>(schema: S, path: string | undefined, overrides: unknown = {}): z.output<S> {
  let raw: unknown = {};
  if (path !== undefined) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ScaleAgentError(Errors.CONFIG_FILE_UNREADABLE, `cannot read configuration file ${path}: ${(err as Error).message}`, { path });
    }
    try {
      raw = parseYaml(text) ?? {};
    } catch (err) {
      throw new ScaleAgentError(Errors.CONFIG_INVALID, `configuration file ${path} is not valid YAML: ${(err as Error).message}`, { path });
    }
  }
  return parseConfig(schema, deepMerge(raw, overrides), path ?? '<defaults>');
}

export function parseConfig<S extends z.ZodType>(schema: S, raw: unknown, source: string): z.output<S> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
    throw new ScaleAgentError(Errors.CONFIG_INVALID, `invalid configuration in ${source}:\n  ${problems.join('\n  ')}`, {
      source,
      problems,
    });
  }
  return result.data;
}

export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`)).join('');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Merges override values (from CLI flags) over file values; arrays and scalars are replaced. */
export function deepMerge(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    out[key] = deepMerge(base[key], value);
  }
  return out;
}
