import { accountSchema, clouddriverOnlyFields, CLOUDDRIVER_ONLY_ACCOUNT_FIELDS } from '../../common/account-config.ts';
import { isPlainObject, validateConfig } from '../../common/config.ts';
import { Errors, ScaleAgentError, isScaleAgentError } from '../../common/errors.ts';
import { isSecretReference, parseSecretReference } from '../../common/secret-reference.ts';
import { KEY_LENGTHS } from '../store/schema.ts';
import type { AccountDefinitionWrite } from '../store/types.ts';

/*
 * A dynamic account definition as an operator submits it, checked before anything is stored: the
 * account keys go through the agent's own account schema (src/common/account-config.ts), so that the hub
 * refuses what an agent would refuse, and no credentials may travel in the clear.
 */

/** The one secret reference kubeconfigContents may be: the agent resolves it to the kubeconfig's text. */
export const SECRET_REFERENCE_PREFIX = 'encrypted:';

/**
 * The largest definition (its JSON): an account's keys, namespaces and kinds take a few KiB; the bound
 * keeps the complete set an agent is sent within one Session message for thousands of accounts.
 */
export const MAX_DEFINITION_BYTES = 64 * 1024;

/** Account names go in URL paths (/admin/accounts/{name}, /credentials/{name}): no separators, spaces or control characters. */
const ACCOUNT_NAME = /^[^\s/\\\p{Cc}]+$/u;
/** `.` and `..` are path segments that clients resolve away: an account so named could not be addressed. */
const DOT_SEGMENTS: ReadonlySet<string> = new Set(['.', '..']);
const CONTROL_CHARACTER = /\p{Cc}/u;

/** What an operator may ask of a definition (`deleting` is the hub's, through DELETE). */
export type RequestedState = 'active' | 'inactive';

/** The keys of a submitted definition that are the hub's, not the agent's: taken out before validation. */
const ZONE_KEY = 'zoneId';
const STATE_KEY = 'state';
/** The nested form (a GET's body sent back): the account's keys under `definition`. */
const DEFINITION_KEY = 'definition';
/** What a GET of a definition shows beside it: read-only, ignored when the body is sent back. */
const GET_ONLY_KEYS: ReadonlySet<string> = new Set([
  'name',
  'dynamic',
  'status',
  'statusReason',
  'revision',
  'createdAt',
  'createdBy',
  'updatedAt',
  'updatedBy',
  'agent',
]);

export interface DefinitionFallback {
  /** The zone when the submission names none (an update keeps the definition's). */
  zoneId: string | null;
  desiredState: RequestedState;
}

export interface ParsedDefinition {
  write: AccountDefinitionWrite & { desiredState: RequestedState };
  /** The account as stored (keys sorted, Clouddriver-only keys left out). */
  account: Record<string, unknown>;
  /** Clouddriver-only keys left out, each with why it means nothing here. */
  ignored: Record<string, string>;
}

function invalid(message: string, details: Record<string, unknown> = {}): ScaleAgentError {
  return new ScaleAgentError(Errors.ACCOUNT_DEFINITION_INVALID, message, details);
}

/** JSON with every object's keys sorted: equal definitions are equal strings, whatever order they came in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isPlainObject(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        )
      : v,
  );
}

/** Throws ACCOUNT_DEFINITION_INVALID unless `name` can be an account name. */
export function checkAccountName(name: unknown, where = 'name'): string {
  if (typeof name !== 'string' || name === '') throw invalid(`${where}: the account needs a name (a non-empty string)`, { field: where });
  if (name.length > KEY_LENGTHS.account) throw invalid(`${where}: an account name has at most ${KEY_LENGTHS.account} characters`, { field: where });
  if (!ACCOUNT_NAME.test(name)) throw invalid(`${where}: an account name may not contain spaces, slashes or control characters`, { field: where });
  if (DOT_SEGMENTS.has(name)) throw invalid(`${where}: an account may not be named . or .. (URL paths resolve them away)`, { field: where });
  return name;
}

/**
 * Throws ACCOUNT_DEFINITION_INVALID unless `value` can be a zone (null or '': every agent). Control
 * characters are refused: no agent's zone has them, and PostgreSQL cannot store a NUL.
 */
export function checkZoneId(value: unknown): string | null {
  if (value === null || value === '') return null;
  if (typeof value !== 'string') throw invalid(`${ZONE_KEY}: a zone is a string (or null for every agent)`, { field: ZONE_KEY });
  if (value.length > KEY_LENGTHS.zoneId) throw invalid(`${ZONE_KEY}: a zone has at most ${KEY_LENGTHS.zoneId} characters`, { field: ZONE_KEY });
  if (CONTROL_CHARACTER.test(value)) throw invalid(`${ZONE_KEY}: a zone may not contain control characters`, { field: ZONE_KEY });
  return value;
}

function zoneOf(value: unknown, fallback: string | null): string | null {
  return value === undefined ? fallback : checkZoneId(value);
}

function stateOf(value: unknown, fallback: RequestedState): RequestedState {
  if (value === undefined) return fallback;
  const upper = typeof value === 'string' ? value.toUpperCase() : undefined;
  if (upper === 'ACTIVE') return 'active';
  if (upper === 'INACTIVE') return 'inactive';
  throw invalid(`${STATE_KEY}: ACTIVE (served by its agents) or INACTIVE (kept, not served)`, { field: STATE_KEY });
}

function inClear(name: string, field: string, what: string): ScaleAgentError {
  return new ScaleAgentError(
    Errors.ACCOUNT_CREDENTIALS_IN_CLEAR,
    `account ${name}: ${field} ${what}; give a secret reference instead (${SECRET_REFERENCE_PREFIX}<engine>!…, e.g. ${SECRET_REFERENCE_PREFIX}k8s!n:<secret>!k:<key>) or a kubeconfigFile: the hub stores definitions and sends them to agents, and takes no credentials in the clear`,
    { account: name, field },
  );
}

/**
 * Refuses credentials in the clear: the hub stores definitions and sends them to agents. A value
 * written as a secret reference must be one (checked with the agent's own parser), so that a kubeconfig
 * pasted after `encrypted:` is not stored, shown and sent as it is; a kubeconfigFile is a path or a
 * reference, never text with line breaks (which the agent would quote in its "cannot be read" reason).
 */
function checkNoCredentialsInClear(name: string, account: Record<string, unknown>): void {
  const checkReference = (field: string, value: string) => {
    try {
      parseSecretReference(value, field);
    } catch (err) {
      if (!isScaleAgentError(err, Errors.SECRET_REFERENCE_INVALID.code)) throw err;
      throw inClear(name, field, `is not a valid secret reference (${err.message})`);
    }
  };
  const contents = account.kubeconfigContents;
  if (typeof contents === 'string') {
    if (!contents.startsWith(SECRET_REFERENCE_PREFIX)) throw inClear(name, 'kubeconfigContents', 'holds a kubeconfig in the clear');
    checkReference('kubeconfigContents', contents);
  }
  const file = account.kubeconfigFile;
  if (typeof file === 'string') {
    if (isSecretReference(file)) checkReference('kubeconfigFile', file);
    // A path or a secret reference is one line; a kubeconfig's text is not.
    else if (CONTROL_CHARACTER.test(file))
      throw inClear(name, 'kubeconfigFile', 'holds line breaks or other control characters, as a kubeconfig does, not a path');
  }
}

/**
 * Checks a submitted definition and returns what to store. Accepted forms: the account's keys with the
 * hub's `zoneId` and `state` beside them (`{name, zoneId, state, kubeconfigFile, …}`), or a GET's body
 * sent back (`{name, zoneId, state, definition: {…}}`, its other keys being read-only). `name` is the
 * name from the path, when there is one: the body's must agree. Throws ACCOUNT_DEFINITION_INVALID or
 * ACCOUNT_CREDENTIALS_IN_CLEAR with a message naming the key.
 */
export function parseDefinition(body: unknown, options: { name?: string; fallback: DefinitionFallback }): ParsedDefinition {
  if (!isPlainObject(body)) throw invalid('an account definition is a JSON (or YAML) object');
  const nested = isPlainObject(body[DEFINITION_KEY]) ? (body[DEFINITION_KEY] as Record<string, unknown>) : undefined;
  const { [ZONE_KEY]: zone, [STATE_KEY]: state, ...flat } = body;
  const source: Record<string, unknown> = nested ? { ...nested } : flat;
  if (nested) {
    // A GET's body sent back: beside `definition` only what the GET shows (ignored) or the hub's own keys.
    const stray = Object.keys(flat).filter((key) => key !== DEFINITION_KEY && !GET_ONLY_KEYS.has(key));
    if (stray.length > 0) {
      throw invalid(`${stray[0]}: an account key beside "definition"; put the account's keys under "definition", or send them without it`, {
        field: stray[0],
      });
    }
    if (body.name !== undefined && nested.name !== undefined && body.name !== nested.name) {
      throw invalid(`name: the body names account ${String(body.name)}, its definition ${String(nested.name)}`, { field: 'name' });
    }
  }
  const bodyName = nested ? (body.name ?? nested.name) : flat.name;
  if (options.name !== undefined && bodyName !== undefined && bodyName !== options.name) {
    throw invalid(`name: the body names account ${String(bodyName)}, the path ${options.name}`, { field: 'name' });
  }
  const name = checkAccountName(bodyName ?? options.name);
  const account: Record<string, unknown> = { ...source, name };
  const ignored: Record<string, string> = {};
  for (const key of clouddriverOnlyFields(account)) {
    ignored[key] = CLOUDDRIVER_ONLY_ACCOUNT_FIELDS[key]!;
    delete account[key];
  }
  checkNoCredentialsInClear(name, account);
  const validation = validateConfig(accountSchema, account);
  if (!validation.success) {
    throw invalid(`account ${name} is not a valid account definition: ${validation.problems.join('; ')}`, { account: name, problems: validation.problems });
  }
  const definition = canonicalJson(account);
  const bytes = Buffer.byteLength(definition);
  if (bytes > MAX_DEFINITION_BYTES) {
    throw invalid(`account ${name}: the definition takes ${bytes} bytes; one may take at most ${MAX_DEFINITION_BYTES}`, {
      account: name,
      limit: MAX_DEFINITION_BYTES,
    });
  }
  const write = {
    name,
    definition,
    zoneId: zoneOf(zone, options.fallback.zoneId),
    desiredState: stateOf(state, options.fallback.desiredState),
  };
  return { write, account: JSON.parse(definition) as Record<string, unknown>, ignored };
}
