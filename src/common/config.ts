import { closeSync, openSync, readSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { didYouMean } from './did-you-mean.ts';
import { Errors, ScaleAgentError } from './errors.ts';
import { yamlErrorPlace } from './yaml-error.ts';
import { logLevelOverride } from './logging-config.ts';
import { knownKeysAt } from './schema-keys.ts';

/** Beyond this many known keys, a key with no near match is reported without the list. */
const MAX_LISTED_KEYS = 12;

/**
 * Loads a YAML configuration file and validates it against a zod schema that carries every default.
 * Any problem fails with CONFIG_INVALID naming the file and the path of each bad key, so a broken
 * configuration stops the process at start instead of running on partial defaults. The LOG_LEVEL
 * environment variable, when set, wins over the file's `logging.level`; `overrides` (flags) win over both.
 */
export function loadConfigFile<S extends z.ZodType>(
  schema: S,
  path: string | undefined,
  overrides: unknown = {},
  env: NodeJS.ProcessEnv = process.env,
): z.output<S> {
  const raw = path === undefined ? {} : parseConfigText(readConfigText(path), path);
  const withEnv = knownKeysAt(schema, ['logging']).includes('level') ? deepMerge(raw, logLevelOverride(env)) : raw;
  return parseConfig(schema, deepMerge(withEnv, overrides), path ?? '<defaults>');
}

/**
 * The largest configuration file read: four times what a ConfigMap or a Secret can hold (1 MiB). YAML
 * takes about a second per MiB to parse, on the event loop: a file of hundreds of MiB (a reload picking
 * up the wrong file) would stall a running agent for minutes and take gigabytes.
 */
export const MAX_CONFIG_FILE_BYTES = 4 * 1024 * 1024;

/** Up to `limit` bytes of a file (a pipe included: `--config <(…)`), without reading the rest. */
function readHead(path: string, limit: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(limit);
    let length = 0;
    while (length < limit) {
      const read = readSync(fd, buffer, length, limit - length, null);
      if (read === 0) break;
      length += read;
    }
    return buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

/** A configuration file's text; CONFIG_FILE_UNREADABLE when it cannot be read or is larger than MAX_CONFIG_FILE_BYTES. */
export function readConfigText(path: string, maxBytes = MAX_CONFIG_FILE_BYTES): string {
  let bytes: Buffer;
  try {
    bytes = readHead(path, maxBytes + 1);
  } catch (err) {
    throw new ScaleAgentError(Errors.CONFIG_FILE_UNREADABLE, `cannot read configuration file ${path}: ${(err as Error).message}`, { path });
  }
  if (bytes.length > maxBytes) {
    throw new ScaleAgentError(Errors.CONFIG_FILE_UNREADABLE, `configuration file ${path} is larger than ${maxBytes} bytes, the most a configuration may take`, {
      path,
      limit: maxBytes,
    });
  }
  return bytes.toString('utf8');
}

/** YAML text as a plain value (an empty document is `{}`); CONFIG_INVALID when it is not YAML. */
export function parseConfigText(text: string, source: string): unknown {
  try {
    return parseYaml(text) ?? {};
  } catch (err) {
    // By position only: the parser's message quotes the file's lines, and a configuration may hold a token.
    const place = yamlErrorPlace(err) || `: ${(err as Error).message}`;
    throw new ScaleAgentError(Errors.CONFIG_INVALID, `configuration file ${source} is not valid YAML${place}`, {
      source,
      problems: [`(root): not valid YAML${place}`],
    });
  }
}

export interface ValidateOptions {
  /**
   * Keys accepted at a path besides the schema's own (e.g. another product's spellings handled before
   * validation): offered as suggestions for an unknown key.
   */
  extraKeys?: (path: readonly PropertyKey[]) => readonly string[];
}

export type Validation<T> = { success: true; data: T } | { success: false; problems: string[] };

/** Validates without throwing: the parsed value, or every problem as `path: message`. */
export function validateConfig<S extends z.ZodType>(schema: S, raw: unknown, options: ValidateOptions = {}): Validation<z.output<S>> {
  const result = schema.safeParse(raw);
  if (result.success) return { success: true, data: result.data };
  return { success: false, problems: result.error.issues.flatMap((issue) => describeIssue(schema, issue, options)) };
}

export function parseConfig<S extends z.ZodType>(schema: S, raw: unknown, source: string, options: ValidateOptions = {}): z.output<S> {
  const result = validateConfig(schema, raw, options);
  if (!result.success) throw configInvalid(source, result.problems);
  return result.data;
}

/** The CONFIG_INVALID error listing every problem of a configuration. */
export function configInvalid(source: string, problems: readonly string[]): ScaleAgentError {
  return new ScaleAgentError(Errors.CONFIG_INVALID, `invalid configuration in ${source}:\n  ${problems.join('\n  ')}`, {
    source,
    problems: [...problems],
  });
}

/**
 * One line per problem. An unknown key gets a line of its own with the nearest known key at that
 * place (`kubernetes.accounts[0].namespace: unknown key; did you mean "namespaces"?`), or, when none
 * is near, the keys that are known there.
 */
function describeIssue(schema: z.ZodType, issue: z.core.$ZodIssue, options: ValidateOptions): string[] {
  if (issue.code !== 'unrecognized_keys') return [`${formatPath(issue.path)}: ${issue.message}`];
  const known = [...new Set([...knownKeysAt(schema, issue.path), ...(options.extraKeys?.(issue.path) ?? [])])];
  return issue.keys.map((key) => {
    const suggestion = didYouMean(key, known);
    const hint =
      suggestion !== undefined
        ? `; did you mean "${suggestion}"?`
        : known.length > 0 && known.length <= MAX_LISTED_KEYS
          ? ` (known keys here: ${[...known].sort().join(', ')})`
          : '';
    return `${formatPath([...issue.path, key])}: unknown key${hint}`;
  });
}

export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`)).join('');
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
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
