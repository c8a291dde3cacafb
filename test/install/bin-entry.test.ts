// bin/scale-agent.js chooses dist/ or the TypeScript sources: an installed package (no src/) runs dist/;
// a checkout runs dist/ only while its build stamp is newer than everything under src/ but tests. Tried
// on a copy of the entry point next to a dist/ and a src/ that each say which one ran, with modification
// times set explicitly instead of waited for.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** A moment well before "now", so that every file can be dated relative to the stamp. */
const BUILT_AT = new Date(Date.now() - 3_600_000);
const earlier = (seconds: number) => new Date(BUILT_AT.getTime() - seconds * 1000);
const later = (seconds: number) => new Date(BUILT_AT.getTime() + seconds * 1000);

describe('bin/scale-agent.js: dist/ or the sources', () => {
  let dir: string;

  /** Runs the copied entry point; the chosen main module prints which it is. */
  const ran = () => execFileSync(process.execPath, [join(dir, 'bin', 'scale-agent.js')], { encoding: 'utf8' }).trim();
  const date = (path: string, when: Date) => utimesSync(join(dir, path), when, when);
  /** Every source file and directory dated before the build. */
  function sourcesOlder(): void {
    for (const path of ['src/cli/main.ts', 'src/cli/other.ts', 'src/cli/other.test.ts', 'src/cli', 'src']) date(path, earlier(60));
  }

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'scale-agent-bin-'));
    mkdirSync(join(dir, 'bin'));
    copyFileSync(join(ROOT, 'bin', 'scale-agent.js'), join(dir, 'bin', 'scale-agent.js'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    // tsx, for the sources' path.
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    mkdirSync(join(dir, 'dist', 'cli'), { recursive: true });
    writeFileSync(join(dir, 'dist', 'cli', 'main.js'), "console.log('dist');\n");
    mkdirSync(join(dir, 'src', 'cli'), { recursive: true });
    writeFileSync(join(dir, 'src', 'cli', 'main.ts'), "const from: string = 'src';\nconsole.log(from);\n");
    writeFileSync(join(dir, 'src', 'cli', 'other.ts'), 'export {};\n');
    writeFileSync(join(dir, 'src', 'cli', 'other.test.ts'), 'export {};\n');
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a checkout without a build stamp (never built, or the build failed) runs the sources', () => {
    sourcesOlder();
    assert.equal(ran(), 'src');
  });

  test('a checkout whose stamp is newer than every source runs dist/; an edited test file does not change that', () => {
    writeFileSync(join(dir, 'dist', 'build-stamp'), '');
    date('dist/build-stamp', BUILT_AT);
    sourcesOlder();
    date('src/cli/other.test.ts', later(60));
    assert.equal(ran(), 'dist');
  });

  test('a source edited after the build started, or a directory whose files changed, makes dist/ stale', () => {
    sourcesOlder();
    date('src/cli/other.ts', later(60));
    assert.equal(ran(), 'src');
    sourcesOlder();
    // A file added or removed changes its directory's time, not any remaining file's.
    date('src/cli', later(60));
    assert.equal(ran(), 'src');
    sourcesOlder();
    date('src/cli/main.ts', BUILT_AT);
    assert.equal(ran(), 'src', 'as new as the stamp counts as newer');
  });

  test('an installed package (no src/) runs dist/', () => {
    rmSync(join(dir, 'src'), { recursive: true });
    rmSync(join(dir, 'dist', 'build-stamp'));
    assert.equal(ran(), 'dist');
  });
});
