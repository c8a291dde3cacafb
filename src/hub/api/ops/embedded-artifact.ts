import { parseYamlDocuments } from '../bounded-input.ts';
import { at, invalid, isObject, optionalObject, type Obj } from './fields.ts';

/**
 * Manifests carried by an `embedded/base64` artifact (Deck's inline "artifact" source): the reference is
 * base64 of YAML or JSON, one or several documents. Orca resolves every other artifact type itself and
 * sends the manifests as text, so those are not fetched here. The YAML is read within the bounds of
 * bounded-input.ts (YAML_LIMITS): a deep, huge or alias-bomb text is a 400 REQUEST_TOO_COMPLEX.
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
  // Bounded: nesting, size, documents and alias expansion are checked before anything recurses.
  const documents = parseYamlDocuments(text, at(p, 'reference'), (index) => at(p, index));
  const out: unknown[] = [];
  for (const value of documents) {
    if (value === null || value === undefined) continue;
    // One by one: spreading a long list into push() would exceed the argument limit.
    if (Array.isArray(value)) for (const item of value) out.push(item);
    else out.push(value);
  }
  return out.filter((v) => isObject(v) || Array.isArray(v));
}
