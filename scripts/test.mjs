// Runs every test with node's test runner through tsx: unit tests (*.test.ts next to the code under
// src/) first, then integration and end-to-end tests (test/**/*.test.ts), which start real processes.
// Extra arguments are passed to `node --test` (e.g. --test-name-pattern). A path argument limits the run
// to the test files under that path.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');

function findTests(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findTests(path));
    else if (entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out.sort();
}

const args = process.argv.slice(2);
const paths = args.filter((a) => !a.startsWith('-') && statSafe(join(root, a)));
const flags = args.filter((a) => !paths.includes(a));
function statSafe(p) { try { return statSync(p); } catch { return undefined; } }

const roots = paths.length > 0 ? paths.map((p) => join(root, p)) : [join(root, 'src'), join(root, 'test')];
const files = roots.flatMap((p) => (statSafe(p)?.isDirectory() ? findTests(p) : [p]));
if (files.length === 0) {
  console.error('test: no test files found');
  process.exit(1);
}

const typecheck = paths.length === 0 && !process.env.SKIP_TYPECHECK;
if (typecheck) {
  const tc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--noEmit'], { cwd: root, stdio: 'inherit' });
  if (tc.status !== 0) { console.error('test: type check failed'); process.exit(tc.status ?? 1); }
}

const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...flags, ...files.map((f) => relative(root, f))],
  { cwd: root, stdio: 'inherit', env: { ...process.env, SCALE_AGENT_TEST: '1' } },
);
process.exit(result.status ?? 1);
