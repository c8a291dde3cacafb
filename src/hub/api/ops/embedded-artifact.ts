import { parseAllDocuments } from 'yaml';
import { at, invalid, isObject, optionalObject, type Obj } from './fields.ts';

/**
 * Manifests carried by an `embedded/base64` artifact (Deck's inline "artifact" source): the reference is
 * base64 of YAML or JSON, one or several documents. Orca resolves every other artifact type itself and
 * sends the manifests as text, so those are not fetched here.
 */
const EMBEDDED = 'embedded/base64';

export function embeddedDocuments(source: Obj, key: string, path: string): unknown[] | undefined {
  const artifact = optionalObject(source, key, path);
  if (!artifact) return undefined;
  const p = at(path, key);
  if (artifact.type !== EMBEDDED) {
    invalid(p, `artifacts of type ${String(artifact.type)} are resolved by Orca before the operation is sent; this hub reads only ${EMBEDDED} here`);
  }
  if (typeof artifact.reference !== 'string' || artifact.reference === '') invalid(at(p, 'reference'), 'is required (base64 of the manifest)');
  const text = Buffer.from(artifact.reference, 'base64').toString('utf8');
  const documents = parseAllDocuments(text);
  const out: unknown[] = [];
  for (const doc of documents) {
    if (doc.errors.length > 0) invalid(at(p, 'reference'), `is not valid YAML or JSON: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) out.push(...value);
    else out.push(value);
  }
  return out.filter((v) => isObject(v) || Array.isArray(v));
}
