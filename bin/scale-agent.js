#!/usr/bin/env node
// Entry point of the `scale-agent` CLI. It runs the compiled JavaScript in dist/ when that is current,
// else the TypeScript sources through tsx:
//
// - An installed package (npm, the container image) has dist/ and no src/: it always runs dist/, with
//   production dependencies only (tsx is a dev dependency and is not imported on this path).
// - A checkout runs dist/ only while the build is current. `npm run build` (scripts/build.mjs) leaves
//   dist/build-stamp, whose modification time is the moment compilation started; if any file or
//   directory under src/ (tests aside: they are not compiled) is as new as that or newer — an edit, or
//   a file added or removed, which touches its directory — dist/ is stale and the sources run instead,
//   so a forgotten build never runs old code. No stamp (no build, or one that failed): the sources.
//   The check stats ~400 paths, ~5 ms per start, paid only once dist/ was built.
//
// docs/development.md ("Build, the production runtime and the image") states the same rule.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The newest modification time under `dir` (directories included), or Infinity once one reaches `limit`. */
function newestAtLeast(dir, limit) {
  let newest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (newest >= limit) return Infinity;
    if (entry.isFile() && entry.name.endsWith('.test.ts')) continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestAtLeast(path, limit) : statSync(path).mtimeMs);
  }
  return newest;
}

function distIsCurrent() {
  if (statSync(join(root, 'src'), { throwIfNoEntry: false }) === undefined) return true;
  const stamp = statSync(join(root, 'dist', 'build-stamp'), { throwIfNoEntry: false });
  return stamp !== undefined && newestAtLeast(join(root, 'src'), stamp.mtimeMs) < stamp.mtimeMs;
}

if (distIsCurrent()) {
  await import('../dist/cli/main.js');
} else {
  const tsx = await import('tsx/esm/api').catch((err) => {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    process.stderr.write('scale-agent: dist/ is missing or older than src/, and tsx (a dev dependency) is not installed: run `npm run build`, or `npm ci`\n');
    process.exit(1);
  });
  tsx.register();
  await import('../src/cli/main.ts');
}
