import { isPlainObject } from './patch/merge-patch.ts';
import { StatusError } from './status.ts';

/**
 * Checking of what callers ask the fault injector for, whether it arrives as an admin request body or as an
 * in-process call from a benchmark: every problem is a 400 BadRequest Status naming the offending field (in
 * the message and in details.causes), never an exception that could take the sim down.
 */

/** The apiserver's verbs for the requests a fault can match (authorization verbs, as RBAC names them). */
export const FAULT_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'] as const;
export type FaultVerb = (typeof FAULT_VERBS)[number];

/** The HTTP statuses an error fault may answer with: a server failure, throttling, an unavailable server. */
export const FAULT_STATUSES = [500, 429, 503] as const;
export type FaultStatus = (typeof FAULT_STATUSES)[number];

/** Verbs a revoke takes away when it names none: enough to break an informer's list and watch. */
export const DEFAULT_REVOKED_VERBS: readonly FaultVerb[] = ['list', 'watch'];
/** Retry-After for 429 and 503 when the caller gives none: client-go's own default wait is one second. */
export const DEFAULT_RETRY_AFTER_SECONDS = 1;
/** Longer than any client's request timeout; a bigger latency is a mistake, not a test. */
export const MAX_LATENCY_MS = 10 * 60 * 1000;
/** An hour: beyond it a client would be waiting out the test, not retrying in it. */
export const MAX_RETRY_AFTER_SECONDS = 60 * 60;
const MAX_LABEL_LENGTH = 63;
const MAX_SUBDOMAIN_LENGTH = 253;
/** Resource names (plurals) are RFC 1035 labels, as the apiserver requires of CRD plurals. */
const RESOURCE_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A Kind is a CamelCase identifier: it becomes a JSON kind field, a listKind and (lowercased) a plural. */
const KIND_NAME = /^[A-Za-z][A-Za-z0-9]*$/;
/** CRD version names are RFC 1123 labels (v1, v1beta1, v2alpha3…). */
const VERSION_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export interface LatencyFault {
  /** Fixed delay before each API request of the cluster is served. */
  ms: number;
  /** Extra delay drawn uniformly from [0, jitterMs] per request. */
  jitterMs: number;
}

export interface ErrorFaultRequest {
  status: FaultStatus;
  /** How many matching requests fail (at least 1). */
  count: number;
  /** Sent as Retry-After and details.retryAfterSeconds; 429 and 503 default to 1 s, 500 sends none unless given. */
  retryAfterSeconds?: number;
  /** Verbs the budget applies to; all of them when omitted. */
  verbs?: FaultVerb[];
}

export interface RevokeRequest {
  /** API group ("" for the core group). */
  group: string;
  /** Resource (plural), e.g. deployments. */
  resource: string;
  verbs?: FaultVerb[];
}

export interface CrdRequest {
  group: string;
  kind: string;
  /** Default: lowercase kind + "s". */
  plural?: string;
  /** Default: Namespaced. */
  scope?: 'Namespaced' | 'Cluster';
  /** Served versions, the first one stored. Default: ["v1"]. */
  versions?: string[];
}

type Fields = Record<string, unknown>;

/** A 400 whose message starts with the field and whose cause names it, as apiserver validation errors do. */
export function fieldError(field: string, message: string): StatusError {
  return new StatusError(400, 'BadRequest', `${field}: ${message}`, { causes: [{ reason: 'FieldValueInvalid', message, field }] });
}

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** The body as an object with only the allowed fields (a misspelt field is a 400, not a silently ignored option). */
function fieldsOf(body: unknown, allowed: readonly string[]): Fields {
  if (body === undefined) return {};
  if (!isPlainObject(body)) throw fieldError('body', `Invalid value: ${describe(body)}: must be a JSON object`);
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) throw fieldError(key, `unknown field "${key}" (allowed: ${allowed.join(', ')})`);
  }
  return body as Fields;
}

function numberField(fields: Fields, field: string, options: { required: boolean; integer: boolean; min: number; max: number }): number | undefined {
  const value = fields[field];
  if (value === undefined || value === null) {
    if (options.required) throw fieldError(field, 'Required value');
    return undefined;
  }
  const kind = options.integer ? 'an integer' : 'a number';
  if (typeof value !== 'number' || !Number.isFinite(value) || (options.integer && !Number.isInteger(value))) {
    throw fieldError(field, `Invalid value: ${describe(value)}: must be ${kind}`);
  }
  if (value < options.min || value > options.max) {
    throw fieldError(field, `Invalid value: ${value}: must be ${kind} from ${options.min} to ${options.max}`);
  }
  return value;
}

function verbsField(fields: Fields, field: string): FaultVerb[] | undefined {
  const value = fields[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length === 0) throw fieldError(field, `Invalid value: ${describe(value)}: must be a non-empty list of verbs`);
  const verbs = new Set<FaultVerb>();
  value.forEach((verb: unknown, i) => {
    if (typeof verb !== 'string' || !(FAULT_VERBS as readonly string[]).includes(verb)) {
      throw fieldError(`${field}[${i}]`, `Unsupported value: ${describe(verb)}: supported values: ${FAULT_VERBS.map((v) => `"${v}"`).join(', ')}`);
    }
    verbs.add(verb as FaultVerb);
  });
  return [...verbs];
}

function stringField(fields: Fields, field: string, required: boolean): string | undefined {
  const value = fields[field];
  if (value === undefined || value === null) {
    if (required) throw fieldError(field, 'Required value');
    return undefined;
  }
  if (typeof value !== 'string') throw fieldError(field, `Invalid value: ${describe(value)}: must be a string`);
  return value;
}

function checkGroup(field: string, group: string, allowCore: boolean): void {
  if (group === '' && allowCore) return;
  if (group === '' || group.length > MAX_SUBDOMAIN_LENGTH || !DNS1123_SUBDOMAIN.test(group)) {
    throw fieldError(
      field,
      `Invalid value: "${group}": must be ${allowCore ? '"" (the core group) or ' : ''}a lowercase RFC 1123 subdomain such as "apps" or "example.com"`,
    );
  }
}

function checkResourceName(field: string, resource: string): void {
  if (resource.length > MAX_LABEL_LENGTH || !RESOURCE_NAME.test(resource)) {
    throw fieldError(field, `Invalid value: "${resource}": must be a resource name (a lowercase RFC 1035 label such as "deployments")`);
  }
}

export function latencyFrom(body: unknown): LatencyFault {
  const fields = fieldsOf(body, ['ms', 'jitterMs']);
  const ms = numberField(fields, 'ms', { required: true, integer: false, min: 0, max: MAX_LATENCY_MS })!;
  const jitterMs = numberField(fields, 'jitterMs', { required: false, integer: false, min: 0, max: MAX_LATENCY_MS }) ?? 0;
  return { ms, jitterMs };
}

export function errorFaultFrom(body: unknown): ErrorFaultRequest {
  const fields = fieldsOf(body, ['status', 'count', 'retryAfterSeconds', 'verbs']);
  const status = fields.status;
  if (status === undefined || status === null) throw fieldError('status', 'Required value');
  if (!(FAULT_STATUSES as readonly unknown[]).includes(status)) {
    throw fieldError('status', `Unsupported value: ${describe(status)}: supported values: ${FAULT_STATUSES.join(', ')}`);
  }
  const count = numberField(fields, 'count', { required: true, integer: true, min: 1, max: Number.MAX_SAFE_INTEGER })!;
  const retryAfterSeconds = numberField(fields, 'retryAfterSeconds', { required: false, integer: true, min: 0, max: MAX_RETRY_AFTER_SECONDS });
  const verbs = verbsField(fields, 'verbs');
  return {
    status: status as FaultStatus,
    count,
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    ...(verbs !== undefined ? { verbs } : {}),
  };
}

export function revokeFrom(body: unknown): RevokeRequest {
  const fields = fieldsOf(body, ['group', 'resource', 'verbs']);
  const group = stringField(fields, 'group', true)!;
  checkGroup('group', group, true);
  const resource = stringField(fields, 'resource', true)!;
  checkResourceName('resource', resource);
  const verbs = verbsField(fields, 'verbs');
  return { group, resource, ...(verbs !== undefined ? { verbs } : {}) };
}

export function crdFrom(body: unknown): Required<CrdRequest> {
  const fields = fieldsOf(body, ['group', 'kind', 'plural', 'scope', 'versions']);
  const group = stringField(fields, 'group', true)!;
  checkGroup('group', group, false);
  // The apiserver insists on a dotted group for CRDs, which also keeps them clear of the built-in groups.
  if (!group.includes('.')) throw fieldError('group', `Invalid value: "${group}": should be a domain with at least one dot`);
  const kind = stringField(fields, 'kind', true)!;
  if (!KIND_NAME.test(kind) || kind.length > MAX_LABEL_LENGTH)
    throw fieldError('kind', `Invalid value: "${kind}": must be a CamelCase name of letters and digits, starting with a letter`);
  const plural = stringField(fields, 'plural', false) ?? `${kind.toLowerCase()}s`;
  checkResourceName('plural', plural);
  const scope = fields.scope ?? 'Namespaced';
  if (scope !== 'Namespaced' && scope !== 'Cluster')
    throw fieldError('scope', `Unsupported value: ${describe(scope)}: supported values: "Namespaced", "Cluster"`);
  const rawVersions = fields.versions ?? ['v1'];
  if (!Array.isArray(rawVersions) || rawVersions.length === 0)
    throw fieldError('versions', `Invalid value: ${describe(rawVersions)}: must be a non-empty list of version names`);
  const versions: string[] = [];
  rawVersions.forEach((version: unknown, i) => {
    if (typeof version !== 'string' || version.length > MAX_LABEL_LENGTH || !VERSION_NAME.test(version)) {
      throw fieldError(`versions[${i}]`, `Invalid value: ${describe(version)}: must be a version name such as "v1" or "v1beta1"`);
    }
    if (versions.includes(version)) throw fieldError(`versions[${i}]`, `Duplicate value: "${version}"`);
    versions.push(version);
  });
  return { group, kind, plural, scope, versions };
}
