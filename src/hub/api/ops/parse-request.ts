import { Errors, ScaleAgentError } from '../../../common/errors.ts';
import type { AccountReader, AccountRecord } from '../../store/types.ts';
import { checkNesting } from '../bounded-input.ts';
import { withStatus } from '../http-errors.ts';
import { at, invalid, isObject } from './fields.ts';
import type { OpHandler, ParsedOp, PreparedOp } from './op-handler.ts';
import { OPERATIONS } from './registry.ts';
import { HTTP_BAD_REQUEST } from '../../../common/http-status.ts';

/**
 * Turns an `/ops` body (an array of single-key objects) into prepared operations, checking everything
 * that can be checked before a task exists: the shape, the op names, each description's fields, and
 * that each account is registered (Clouddriver answers 400 for unknown credentials).
 */
export interface RequestedOp {
  handler: OpHandler;
  account: AccountRecord;
  prepared: PreparedOp;
  /** Whether running it again after an interruption converges (see ParsedOp.idempotent). */
  idempotent: boolean;
}

function unknownOperation(name: string, path: string): never {
  throw new ScaleAgentError(Errors.OPERATION_UNSUPPORTED, `${path}: unknown operation "${name}"; supported: ${[...OPERATIONS.keys()].join(', ')}`, {
    field: path,
    operation: name,
    supported: [...OPERATIONS.keys()],
  });
}

export function handlerFor(name: string, path = ''): OpHandler {
  return OPERATIONS.get(name) ?? unknownOperation(name, path === '' ? name : path);
}

/**
 * Parses the body's shape and each description (no account lookups): throws REQUEST_INVALID, or
 * REQUEST_TOO_COMPLEX for a body nested deeper than MAX_NESTING_DEPTH (the REST body parser refuses
 * those already; this holds for every other caller too, before the descriptions' recursive walks).
 */
export function parseOps(body: unknown): Array<{ handler: OpHandler; parsed: ParsedOp; path: string }> {
  checkNesting(body);
  if (!Array.isArray(body)) invalid('', 'expected a JSON array of operations, e.g. [{"deployManifest": {…}}]');
  if (body.length === 0) invalid('', 'at least one operation is required');
  return body.map((entry, i) => {
    const path = at('', i);
    if (!isObject(entry)) invalid(path, 'expected an object with one operation name as its key');
    const keys = Object.keys(entry);
    if (keys.length !== 1) invalid(path, `expected exactly one operation name as the key, got ${keys.length}`);
    const name = keys[0]!;
    const handler = OPERATIONS.get(name) ?? unknownOperation(name, path);
    return { handler, parsed: handler.parse(entry[name], at(path, name)), path };
  });
}

/** Whether every operation of a stored request may safely run again; false when it no longer parses. */
export function requestIdempotent(body: unknown): boolean {
  try {
    return parseOps(body).every((op) => op.parsed.idempotent);
  } catch {
    return false;
  }
}

export async function parseOpsRequest(body: unknown, store: AccountReader): Promise<RequestedOp[]> {
  const parsed = parseOps(body);
  const accounts = new Map<string, AccountRecord | undefined>();
  const out: RequestedOp[] = [];
  for (const { handler, parsed: op, path } of parsed) {
    if (!accounts.has(op.account)) accounts.set(op.account, await store.getAccount(op.account));
    const account = accounts.get(op.account);
    if (!account) {
      throw new ScaleAgentError(
        withStatus(Errors.ACCOUNT_NOT_FOUND, HTTP_BAD_REQUEST),
        `${at(at(path, handler.name), 'account')}: unknown account "${op.account}"`,
        { account: op.account },
      );
    }
    out.push({ handler, account, prepared: op.prepare(account), idempotent: op.idempotent });
  }
  return out;
}
