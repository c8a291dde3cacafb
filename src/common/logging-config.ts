import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { Errors, ScaleAgentError } from './errors.ts';

/** The levels every part logs at (pino's names). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Level names accepted in any case: ours, and the Armory agent's (logrus: `panic`, `warning`), so that
 * `level: INFO` or `LOG_LEVEL=Warning` from an Armory configuration work unchanged. `panic` is logged
 * as fatal: nothing here panics on purpose.
 */
const LEVEL_ALIASES: Record<string, LogLevel> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  fatal: 'fatal',
  panic: 'fatal',
  silent: 'silent',
};

/** A level name as written (any case, Armory's names too) → ours; undefined when it is no level. */
export function normaliseLogLevel(value: string): LogLevel | undefined {
  return LEVEL_ALIASES[value.trim().toLowerCase()];
}

const LEVEL_CHOICES = Object.keys(LEVEL_ALIASES).join(', ');

const logLevelSchema = z.string().transform((value, ctx): LogLevel => {
  const level = normaliseLogLevel(value);
  if (level === undefined) {
    ctx.addIssue({ code: 'custom', message: `unknown log level "${value}"; one of ${LEVEL_CHOICES} (any case)` });
    return z.NEVER;
  }
  return level;
});

const logFormatSchema = z.string().transform((value, ctx): 'json' | 'text' => {
  const format = value.trim().toLowerCase();
  if (format !== 'json' && format !== 'text') {
    ctx.addIssue({ code: 'custom', message: `unknown log format "${value}"; json or text` });
    return z.NEVER;
  }
  return format;
});

/** `logging.*`, shared by every part. */
export const loggingSchema = z
  .object({
    /** trace, debug, info, warn, error, fatal, silent (any case; also warning, panic). The LOG_LEVEL environment variable wins. */
    level: logLevelSchema.default('info'),
    /** json (one object a line, for log shippers) or text (for people). */
    format: logFormatSchema.default('json'),
    /** Write the log to this file (appended; created with its directory) instead of stdout. */
    file: z.string().min(1).optional(),
    /** With `file`: write to stdout as well. */
    multiWrite: z.boolean().default(false),
    /**
     * Fixed key/values added to every line (e.g. `agentCluster: prod-eu`). An empty `agentNamespace` is
     * filled with the pod's namespace (POD_NAMESPACE, or the service account's namespace file); other
     * empty values are left out.
     */
    fields: z.record(z.string().min(1), z.union([z.string(), z.number(), z.boolean()])).default({}),
  })
  .strict()
  .superRefine((l, ctx) => {
    if (l.multiWrite && l.file === undefined)
      ctx.addIssue({ code: 'custom', message: 'multiWrite needs file (stdout is the default already)', path: ['multiWrite'] });
  })
  .prefault({});

export type LoggingConfig = z.output<typeof loggingSchema>;

/**
 * `{logging: {level}}` from the LOG_LEVEL environment variable, to merge over a configuration file
 * (the variable wins, as in the Armory agent); `{}` when it is not set. A value that is no level is a
 * CONFIG_INVALID naming the variable.
 */
export function logLevelOverride(env: NodeJS.ProcessEnv = process.env): { logging?: { level: LogLevel } } {
  const level = logLevelFromEnvironment(env);
  return level === undefined ? {} : { logging: { level } };
}

/** LOG_LEVEL, normalised; undefined when unset or empty. */
export function logLevelFromEnvironment(env: NodeJS.ProcessEnv = process.env): LogLevel | undefined {
  const raw = env.LOG_LEVEL;
  if (raw === undefined || raw.trim() === '') return undefined;
  const level = normaliseLogLevel(raw);
  if (level === undefined) {
    const problem = `LOG_LEVEL: unknown log level "${raw}"; one of ${LEVEL_CHOICES} (any case)`;
    throw new ScaleAgentError(Errors.CONFIG_INVALID, `invalid configuration in the environment:\n  ${problem}`, {
      source: 'environment',
      problems: [problem],
    });
  }
  return level;
}

/** Where Kubernetes mounts the pod's namespace with its service account token. */
export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/**
 * `logging.fields` as they go on every line: an empty `agentNamespace` filled with the pod's namespace
 * when it is known (Armory's agent does the same), other empty values dropped.
 */
export function resolveLogFields(
  fields: Record<string, string | number | boolean>,
  env: NodeJS.ProcessEnv = process.env,
  readNamespace: () => string | undefined = readServiceAccountNamespace,
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value !== '') out[key] = value;
    else if (key === 'agentNamespace') {
      const namespace = env.POD_NAMESPACE || readNamespace();
      if (namespace) out[key] = namespace;
    }
  }
  return out;
}

function readServiceAccountNamespace(): string | undefined {
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE_FILE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
