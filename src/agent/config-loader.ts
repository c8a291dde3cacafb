import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { configInvalid, deepMerge, isPlainObject, parseConfigText, readConfigText, validateConfig } from '../common/config.ts';
import { Errors, isScaleAgentError } from '../common/errors.ts';
import { logLevelOverride } from '../common/logging-config.ts';
import { applyArmoryCompat, armoryKeysAt, type ConfigWarning } from './armory-compat.ts';
import { agentConfigSchema, type AgentConfig } from './config.ts';

/** Where the Armory agent's image reads its configuration (a ConfigMap mounted there). */
export const ARMORY_CONFIG_DIR = '/opt/armory/config';
/** The Armory agent's file before 0.6.0, still read when the current one is absent. */
export const LEGACY_ARMORY_CONFIG_FILE = '/opt/spinnaker/config/kubesvc.yaml';
const MAIN_NAMES = ['armory-agent.yaml', 'armory-agent.yml'];
const LOCAL_NAMES = ['armory-agent-local.yaml', 'armory-agent-local.yml'];

export interface AgentConfigSources {
  /** The files to read now, merged in this order (later keys win). */
  read: string[];
  /** The files whose creation or change should reload the configuration (read, and those that may appear). */
  watch: string[];
}

export interface AgentConfigSourceOptions {
  /** --config: that file alone. */
  explicit?: string;
  /** Where to look without --config; default /opt/armory/config. */
  directory?: string;
  legacyFile?: string;
  exists?: (path: string) => boolean;
}

/**
 * The configuration files, as the Armory agent finds them: with --config, that file; otherwise
 * armory-agent.yaml (or .yml) in /opt/armory/config — else the legacy kubesvc.yaml — with
 * armory-agent-local.yaml (or .yml) merged over it when present. None at all: the defaults.
 */
export function agentConfigSources(options: AgentConfigSourceOptions = {}): AgentConfigSources {
  if (options.explicit !== undefined) return { read: [options.explicit], watch: [options.explicit] };
  const directory = options.directory ?? ARMORY_CONFIG_DIR;
  const exists = options.exists ?? existsSync;
  const first = (names: string[]) => names.map((name) => join(directory, name)).find(exists);
  const legacy = options.legacyFile ?? LEGACY_ARMORY_CONFIG_FILE;
  const main = first(MAIN_NAMES) ?? (exists(legacy) ? legacy : undefined);
  const local = first(LOCAL_NAMES);
  return {
    read: [main, local].filter((p): p is string => p !== undefined),
    watch: [main ?? join(directory, MAIN_NAMES[0]!), local ?? join(directory, LOCAL_NAMES[0]!)],
  };
}

export interface LoadedAgentConfig {
  config: AgentConfig;
  /** Armory keys with no effect here, one warning per reason: for the caller to log (formatWarning). */
  warnings: ConfigWarning[];
}

export interface ConfigDocument {
  text: string;
  /** The file name, for messages. */
  source: string;
}

/**
 * Reads and validates the agent's configuration files (merged in order), the LOG_LEVEL environment
 * variable over them and `overrides` (flags) over that. Throws CONFIG_FILE_UNREADABLE or CONFIG_INVALID
 * listing every problem; never logs.
 */
export function loadAgentConfig(paths: readonly string[], overrides: unknown = {}, env: NodeJS.ProcessEnv = process.env): LoadedAgentConfig {
  return parseAgentConfigDocuments(
    paths.map((path) => ({ text: readConfigText(path), source: path })),
    overrides,
    env,
  );
}

/** One configuration text (e.g. a file that changed, for a reload); see parseAgentConfigDocuments. */
export function parseAgentConfigText(text: string, source: string, overrides: unknown = {}, env: NodeJS.ProcessEnv = process.env): LoadedAgentConfig {
  return parseAgentConfigDocuments([{ text, source }], overrides, env);
}

/**
 * Configuration texts merged in order (a local override last), then LOG_LEVEL, then `overrides`; Armory
 * keys mapped (armory-compat.ts); validated. Returns the configuration and the warnings, or throws one
 * CONFIG_INVALID with every problem of every document. Does not exit or log.
 */
export function parseAgentConfigDocuments(
  documents: readonly ConfigDocument[],
  overrides: unknown = {},
  env: NodeJS.ProcessEnv = process.env,
): LoadedAgentConfig {
  const source = documents.length === 0 ? '<defaults>' : documents.map((d) => d.source).join(' + ');
  const problems: string[] = [];
  let merged: unknown = {};
  for (const document of documents) {
    let raw: unknown;
    try {
      raw = parseConfigText(document.text, document.source);
    } catch (err) {
      if (!isScaleAgentError(err, Errors.CONFIG_INVALID.code)) throw err;
      problems.push(`${document.source}: ${err.message}`);
      continue;
    }
    if (!isPlainObject(raw)) {
      problems.push(`${document.source}: (root): expected a mapping of keys, got ${Array.isArray(raw) ? 'a list' : typeof raw}`);
      continue;
    }
    merged = deepMerge(merged, raw);
  }
  let fromEnvironment: unknown = {};
  try {
    fromEnvironment = logLevelOverride(env);
  } catch (err) {
    if (!isScaleAgentError(err, Errors.CONFIG_INVALID.code)) throw err;
    problems.push(...((err.details.problems as string[] | undefined) ?? [err.message]));
  }
  const withOverrides = deepMerge(deepMerge(merged, fromEnvironment), overrides);
  const compat = applyArmoryCompat(withOverrides);
  problems.push(...compat.problems);
  const validation = validateConfig(agentConfigSchema, compat.raw, { extraKeys: armoryKeysAt });
  if (!validation.success) problems.push(...validation.problems);
  if (problems.length > 0 || !validation.success) throw configInvalid(source, problems);
  return { config: validation.data, warnings: compat.warnings };
}
