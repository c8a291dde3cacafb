import type { StatusCause } from './status.ts';

/**
 * The field errors of k8s.io/apimachinery/pkg/util/validation/field, worded as the real API server words
 * them in a 422 Invalid (`spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535,
 * inclusive`): each cause carries its reason, the field path and the message after the path.
 */
export type Obj = Record<string, unknown>;

export function asObject(value: unknown): Obj | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Obj) : undefined;
}

export function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** How Go's field errors print a value: strings quoted, numbers and booleans bare, the rest as JSON. */
function shown(value: unknown): string {
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value ?? null);
}

/** Collects the causes of one object's validation. */
export class FieldErrors {
  readonly causes: StatusCause[] = [];

  required(field: string, detail = ''): void {
    this.causes.push({ reason: 'FieldValueRequired', message: detail === '' ? 'Required value' : `Required value: ${detail}`, field });
  }

  invalid(field: string, value: unknown, detail: string): void {
    this.causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${shown(value)}: ${detail}`, field });
  }

  notSupported(field: string, value: unknown, supported: readonly string[]): void {
    this.causes.push({
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${shown(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
      field,
    });
  }

  duplicate(field: string, value: unknown): void {
    this.causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${shown(value)}`, field });
  }

  notFound(field: string, value: unknown): void {
    this.causes.push({ reason: 'FieldValueNotFound', message: `Not found: ${shown(value)}`, field });
  }

  forbidden(field: string, detail: string): void {
    this.causes.push({ reason: 'FieldValueForbidden', message: `Forbidden: ${detail}`, field });
  }
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_LABEL_LENGTH = 63;
const MAX_SUBDOMAIN_LENGTH = 253;

/** validation.IsDNS1123Label's messages (empty when valid). */
export function dns1123LabelProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length > MAX_LABEL_LENGTH) problems.push(`must be no more than ${MAX_LABEL_LENGTH} characters`);
  if (!DNS1123_LABEL.test(value)) {
    problems.push(
      `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
    );
  }
  return problems;
}

/** validation.IsDNS1035Label's messages: Service names must start with a letter. */
export function dns1035LabelProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length > MAX_LABEL_LENGTH) problems.push(`must be no more than ${MAX_LABEL_LENGTH} characters`);
  if (!DNS1035_LABEL.test(value)) {
    problems.push(
      `a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
    );
  }
  return problems;
}

/** validation.IsDNS1123Subdomain's messages. */
export function dns1123SubdomainProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length > MAX_SUBDOMAIN_LENGTH) problems.push(`must be no more than ${MAX_SUBDOMAIN_LENGTH} characters`);
  if (!DNS1123_SUBDOMAIN.test(value)) {
    problems.push(
      `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
    );
  }
  return problems;
}

const MIN_PORT = 1;
const MAX_PORT = 65535;
const MAX_PORT_NAME_LENGTH = 15;

/** validation.IsValidPortNum. */
export function portNumberProblems(port: number): string[] {
  return Number.isInteger(port) && port >= MIN_PORT && port <= MAX_PORT ? [] : [`must be between ${MIN_PORT} and ${MAX_PORT}, inclusive`];
}

/** validation.IsValidPortName (an IANA_SVC_NAME). */
export function portNameProblems(name: string): string[] {
  const problems: string[] = [];
  if (name.length > MAX_PORT_NAME_LENGTH) problems.push(`must be no more than ${MAX_PORT_NAME_LENGTH} characters`);
  if (!/^[-a-z0-9]+$/.test(name)) problems.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(name)) problems.push('must contain at least one letter (a-z)');
  if (name.includes('--')) problems.push('must not contain consecutive hyphens (-)');
  if (name.startsWith('-') || name.endsWith('-')) problems.push('must not begin or end with a hyphen (-)');
  return problems;
}

/** ValidatePortNumOrName: an IntOrString port (probes, Service targetPort). */
export function checkPortNumOrName(errors: FieldErrors, field: string, port: unknown): void {
  if (typeof port === 'number') {
    for (const problem of portNumberProblems(port)) errors.invalid(field, port, problem);
  } else if (typeof port === 'string') {
    if (port === '') errors.required(field);
    for (const problem of port === '' ? [] : portNameProblems(port)) errors.invalid(field, port, problem);
  } else errors.required(field);
}

export const SUPPORTED_PORT_PROTOCOLS = ['SCTP', 'TCP', 'UDP'] as const;

export function checkProtocol(errors: FieldErrors, field: string, protocol: unknown): void {
  if (protocol === undefined || protocol === null || protocol === '') errors.required(field);
  else if (!(SUPPORTED_PORT_PROTOCOLS as readonly unknown[]).includes(protocol)) errors.notSupported(field, protocol, SUPPORTED_PORT_PROTOCOLS);
}
