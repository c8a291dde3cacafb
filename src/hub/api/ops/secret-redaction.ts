/**
 * `operations.redactSecretValues`: the request a task stores (to show it, and to run it again on a
 * resume) keeps no Secret values. Every `data` / `stringData` value of an object of kind Secret, every
 * value a patch of a Secret sets there, and every embedded artifact that holds a Secret is replaced by
 * REDACTED_SECRET_VALUE. A stored request that holds it can no longer be run again, so such a task
 * never fails retryably (docs/security.md, "Where a deployed Secret's values rest").
 */
import { isObject, type Obj } from './fields.ts';

export const REDACTED_SECRET_VALUE = '<redacted by the hub: operations.redactSecretValues>';

const VALUE_FIELDS = ['data', 'stringData'] as const;
const SECRET_TARGET = /^\s*secret\s/i;
const SECRET_KIND_IN_YAML = /(^|\n)\s*"?kind"?\s*:\s*["']?Secret["']?\s*(,|\n|$)/;
const EMBEDDED_BASE64 = 'embedded/base64';

function redactValues(holder: Obj): boolean {
  let redacted = false;
  for (const field of VALUE_FIELDS) {
    const values = holder[field];
    if (!isObject(values)) continue;
    for (const key of Object.keys(values)) values[key] = REDACTED_SECRET_VALUE;
    redacted = true;
  }
  return redacted;
}

/** A patch of a Secret (`patchManifest` of `secret <name>`): the values it sets. */
function redactSecretPatch(description: Obj): boolean {
  const body = description.patchBody;
  if (isObject(body)) return redactValues(body);
  if (!Array.isArray(body)) return false;
  let redacted = false;
  for (const operation of body) {
    if (isObject(operation) && typeof operation.path === 'string' && /^\/(data|stringData)(\/|$)/.test(operation.path) && 'value' in operation) {
      operation.value = REDACTED_SECRET_VALUE;
      redacted = true;
    }
  }
  return redacted;
}

/** A copy of `request` without Secret values, and whether it had any. Walks iteratively (any depth). */
export function redactSecretValues(request: unknown): { request: unknown; redacted: boolean } {
  const copy = structuredClone(request);
  let redacted = false;
  const stack: unknown[] = [copy];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) {
      stack.push(...value);
      continue;
    }
    if (!isObject(value)) continue;
    if (value.kind === 'Secret' && redactValues(value)) redacted = true;
    if (typeof value.manifestName === 'string' && SECRET_TARGET.test(value.manifestName) && redactSecretPatch(value)) redacted = true;
    if (
      value.type === EMBEDDED_BASE64 &&
      typeof value.reference === 'string' &&
      SECRET_KIND_IN_YAML.test(Buffer.from(value.reference, 'base64').toString('utf8'))
    ) {
      value.reference = REDACTED_SECRET_VALUE;
      redacted = true;
    }
    for (const child of Object.values(value)) if (typeof child === 'object' && child !== null) stack.push(child);
  }
  return { request: copy, redacted };
}

/** Whether a stored request had Secret values taken out (it cannot be run again as stored). */
export function holdsRedactedSecrets(request: unknown): boolean {
  return JSON.stringify(request ?? null).includes(REDACTED_SECRET_VALUE);
}
