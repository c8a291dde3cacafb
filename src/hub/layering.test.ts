// The hub's dependency directions (docs/architecture.md, "Inside the hub"), checked on the import
// statements of every file under src/hub, so a wrong-way import fails here instead of growing a cycle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const HUB = dirname(fileURLToPath(import.meta.url));
const SRC = dirname(HUB);

/**
 * What each folder of src/hub may import from the rest of src/hub (its own files aside). The REST API
 * sits on top; Kubernetes manifest facts (manifest/), the HTTP error shape (http/) and the SQL store
 * depend on nothing else in the hub. Entries ending in `.ts` are the hub's root files.
 */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  api: ['auth', 'views', 'router', 'store', 'manifest', 'http', 'replicas', 'definitions', 'artifacts'],
  auth: ['router', 'store', 'http'],
  views: ['store', 'manifest'],
  router: ['grpc', 'store'],
  relay: ['router', 'store'],
  grpc: ['replicas', 'store', 'definitions', 'config.ts'],
  replicas: ['store'],
  definitions: ['store'],
  manifest: [],
  artifacts: [],
  http: [],
  store: [],
};

/** Tests may also start a whole hub (hub.ts) from its configuration (config.ts), e.g. to open its database. */
const TESTS_MAY_ALSO_IMPORT: readonly string[] = ['hub.ts', 'config.ts'];

/** Parts of src/ the hub never imports: the agent and the hub never import each other; sim and cli sit above. */
const FORBIDDEN_PARTS: readonly string[] = ['agent', 'sim', 'cli'];

/**
 * `kube` is the agent's; the hub uses one file of it: the rule of what no patch may do to a Secret's
 * values, which the hub checks at submission and the agent on every write (docs/security.md).
 */
const KUBE_FILES_THE_HUB_USES: readonly string[] = ['kube/secret-values.ts'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The relative specifiers a file imports or re-exports, type-only and dynamic imports included. */
function relativeImports(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles.map((f) => f.fileName).filter((name) => name.startsWith('.'));
}

/** The first path segment under `root` ("api", "config.ts"), or undefined when `path` is outside it. */
function topOf(root: string, path: string): string | undefined {
  const rel = relative(root, path);
  if (rel === '' || rel.startsWith('..')) return undefined;
  return rel.split(sep)[0];
}

interface Violation {
  file: string;
  imports: string;
  /** The rule it breaks. */
  rule: string;
}

/** Every import under src/hub that breaks a direction above. */
function violations(): Violation[] {
  const out: Violation[] = [];
  for (const file of sourceFiles(HUB)) {
    const from = topOf(HUB, file)!;
    const isRootFile = from.endsWith('.ts');
    const allowed = new Set([from, ...(MAY_IMPORT[from] ?? []), ...(file.endsWith('.test.ts') ? TESTS_MAY_ALSO_IMPORT : [])]);
    for (const specifier of relativeImports(file)) {
      const target = resolve(dirname(file), specifier);
      const hubTop = topOf(HUB, target);
      const report = (rule: string) => out.push({ file: relative(SRC, file), imports: specifier, rule });
      if (hubTop !== undefined) {
        // The root files wire the hub together (hub.ts) or gather its configuration: they may import any folder.
        if (!isRootFile && !allowed.has(hubTop))
          report(`hub/${from} may import ${[...allowed].filter((a) => a !== from).join(', ') || 'nothing else in src/hub'}`);
        continue;
      }
      const part = topOf(SRC, target);
      if (part === undefined) continue; // outside src/: test support, packages
      if (FORBIDDEN_PARTS.includes(part)) report(`the hub never imports src/${part}`);
      else if (part === 'kube' && !KUBE_FILES_THE_HUB_USES.includes(relative(SRC, target).split(sep).join('/')))
        report(`the hub uses only ${KUBE_FILES_THE_HUB_USES.join(', ')} of src/kube`);
    }
  }
  return out;
}

test('every folder of src/hub has its place in the dependency directions', () => {
  const folders = readdirSync(HUB, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  assert.deepEqual(folders, Object.keys(MAY_IMPORT).sort());
});

/** Whether `from` reaches `to` through MAY_IMPORT. */
function reaches(from: string, to: string, seen = new Set<string>()): boolean {
  for (const next of MAY_IMPORT[from] ?? []) {
    if (next === to) return true;
    if (seen.has(next)) continue;
    seen.add(next);
    if (reaches(next, to, seen)) return true;
  }
  return false;
}

test('the directions have no cycle', () => {
  assert.deepEqual(
    Object.keys(MAY_IMPORT).filter((folder) => reaches(folder, folder)),
    [],
  );
});

test('src/hub imports only in the stated directions', () => {
  // Each entry: a file and an import it may not make (see MAY_IMPORT and the parts above).
  assert.deepEqual(violations(), []);
});
