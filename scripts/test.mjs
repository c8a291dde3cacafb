// Runs every test with node's test runner through tsx: unit tests (*.test.ts next to the code under
// src/) first, then integration and end-to-end tests (test/**/*.test.ts), which start real processes.
// Extra arguments are passed to `node --test` (e.g. --test-name-pattern). A path argument limits the run
// to the test files under that path.
import { spawn } from 'node:child_process';
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

// `--unit` (npm run test:unit): the unit tests next to the code, on SQLite only, without the type check.
const unit = process.argv.includes('--unit');
if (unit) {
  process.env.TEST_ENGINES ??= 'sqlite';
  process.env.SKIP_TYPECHECK ??= '1';
}
const args = process.argv.slice(2).filter((a) => a !== '--unit');
const paths = args.filter((a) => !a.startsWith('-') && statSafe(join(root, a)));
const flags = args.filter((a) => !paths.includes(a));
function statSafe(p) {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

const roots = paths.length > 0 ? paths.map((p) => join(root, p)) : unit ? [join(root, 'src')] : [join(root, 'src'), join(root, 'test')];
const files = roots.flatMap((p) => (statSafe(p)?.isDirectory() ? findTests(p) : [p]));
if (files.length === 0) {
  console.error('test: no test files found');
  process.exit(1);
}

// Which database servers this run uses (test/support/database-servers.ts): decided once, while the type
// check runs, and handed to every test file. A private PostgreSQL started here is stopped at the end.
const { tsImport } = await import('tsx/esm/api');
const databases = await tsImport('../test/support/database-servers.ts', import.meta.url);
const resolving = databases.resolveTestDatabases();

// A whole run also compiles src/ to dist/ (scripts/build.mjs), beside the type check: every process the
// integration and end-to-end tests start goes through bin/scale-agent.js, which runs the compiled build
// while it is current (as the production runtime does) instead of loading every module through tsx.
// That halves what a part costs to start, and parts start several hundred times in a run. Runs of
// chosen paths build nothing: a stale or missing build makes the entry point run the sources.
const typecheck = paths.length === 0 && !process.env.SKIP_TYPECHECK;
const [typecheckStatus, buildStatus] = typecheck
  ? await Promise.all([
      run([join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--noEmit'], process.env),
      run([join(root, 'scripts', 'build.mjs')], process.env),
    ])
  : [0, 0];
const resolved = await resolving;
const summary = databases.describeResolutions(resolved.resolutions);
let status = typecheckStatus || buildStatus;
const testsRun = status === 0;
if (typecheckStatus !== 0) {
  console.error('test: type check failed');
} else if (buildStatus !== 0) {
  console.error('test: build failed (npm run build)');
} else {
  console.log(summary);
  status = await run(['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...flags, ...files.map((f) => relative(root, f))], {
    ...process.env,
    SCALE_AGENT_TEST: '1',
    [databases.RESOLUTIONS_ENV]: JSON.stringify(resolved.resolutions),
  });
}
await resolved.stop();
if (testsRun) console.log(summary);
process.exit(status);

/** Runs node with `args`; Ctrl-C and SIGTERM reach the child, and the private database still stops. */
function run(args, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit', env });
    const forward = (signal) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}
