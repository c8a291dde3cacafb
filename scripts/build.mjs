// `npm run build` (and `npm pack`/`npm publish` through prepack): generates the protocol code, then
// compiles src/ to dist/ with tsconfig.build.json. The production runtime (the published package, the
// container image) runs dist/ with production dependencies only.
//
// dist/build-stamp marks a complete build: an empty file created just before the compiler reads the
// sources (so its modification time comes from the same clock as theirs) and put in place only once
// the compiler succeeded. bin/scale-agent.js runs dist/ in a checkout only while no file under src/ is
// as new as the stamp; see docs/development.md.
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
/** Read by bin/scale-agent.js; keep the two in step. */
const STAMP = join(dist, 'build-stamp');
const PENDING_STAMP = join(dist, '.build-started');

function run(args) {
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

run([join(root, 'scripts', 'generate.mjs')]);
// Outputs of deleted sources must not linger: every build starts from an empty dist/.
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist);
writeFileSync(PENDING_STAMP, '');
run([join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')]);
// A rename keeps the file's modification time: the moment before compilation started.
renameSync(PENDING_STAMP, STAMP);
