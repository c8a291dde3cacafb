/**
 * Kubernetes `Status` objects, the body of every error the sim returns (and of some successful deletes),
 * shaped like k8s.io/apimachinery's metav1.Status so client-go and kubectl decode them into typed errors.
 */
export type StatusReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'Expired'
  | 'Gone'
  | 'BadRequest'
  | 'MethodNotAllowed'
  | 'Unauthorized'
  | 'Forbidden'
  | 'TooManyRequests'
  | 'InternalError'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'Timeout'
  | 'ServiceUnavailable';

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, unknown>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

/** A failure that reaches the client as a Status with its HTTP code. */
export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'StatusError';
  }

  toStatus(): Status {
    const status: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, code: this.code };
    if (this.details !== undefined) status.details = this.details;
    return status;
  }
}

/** The kind/group pair Kubernetes puts in error details: the resource's plural for built-in errors. */
export interface ErrorSubject {
  group: string;
  /** The resource (plural), as the real API server names it in NotFound/AlreadyExists messages. */
  resource: string;
}

function qualified(subject: ErrorSubject): string {
  return subject.group === '' ? subject.resource : `${subject.resource}.${subject.group}`;
}

export function notFound(subject: ErrorSubject, name: string): StatusError {
  return new StatusError(404, 'NotFound', `${qualified(subject)} "${name}" not found`, { name, group: subject.group, kind: subject.resource });
}

export function alreadyExists(subject: ErrorSubject, name: string): StatusError {
  return new StatusError(409, 'AlreadyExists', `${qualified(subject)} "${name}" already exists`, { name, group: subject.group, kind: subject.resource });
}

export function conflict(subject: ErrorSubject, name: string, why: string): StatusError {
  return new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(subject)} "${name}": ${why}`, {
    name,
    group: subject.group,
    kind: subject.resource,
  });
}

/** 422 Invalid; `kind` is the object's Kind, as the real API server uses in validation errors. */
export function invalid(group: string, kind: string, name: string, causes: StatusCause[]): StatusError {
  const listed = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  // field.ErrorList.ToAggregate(): one error as it is, several in brackets.
  const summary = listed.length === 1 ? listed[0]! : `[${listed.join(', ')}]`;
  const qualifiedKind = group === '' ? kind : `${kind}.${group}`;
  return new StatusError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${summary}`, { name, group, kind, causes });
}

export function badRequest(message: string): StatusError {
  return new StatusError(400, 'BadRequest', message);
}

export function expired(message: string): StatusError {
  return new StatusError(410, 'Expired', message);
}

export function methodNotAllowed(method: string): StatusError {
  return new StatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method})`);
}

export function unauthorized(): StatusError {
  return new StatusError(401, 'Unauthorized', 'Unauthorized');
}

export function pathNotFound(path: string): StatusError {
  return new StatusError(404, 'NotFound', `the server could not find the requested resource (${path})`, {});
}

export function internalError(message: string): StatusError {
  return new StatusError(500, 'InternalError', `Internal error occurred: ${message}`);
}

export function isStatusError(err: unknown): err is StatusError {
  return err instanceof StatusError;
}

/** The `Status` a successful delete returns for kinds that do not return the deleted object. */
export function deleteSuccess(subject: ErrorSubject, name: string, uid: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: subject.group, kind: subject.resource, uid } };
}
