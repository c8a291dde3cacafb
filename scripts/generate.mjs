// Generates the TypeScript messages of the wire protocol from proto/ with buf and protoc-gen-es, both
// installed from npm. The output (src/protocol/gen) is produced by every install and never committed.
//
// buf writes into a scratch directory first; only files whose content changed are written into
// src/protocol/gen (and files it no longer generates removed). So the directory never disappears under
// a process that is loading it, and an unchanged output keeps its modification times: bin/scale-agent.js
// treats a source newer than the last build as making dist/ stale, and a reinstall should not do that.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const buf = join(root, 'node_modules', '.bin', 'buf');
/** Where buf.gen.yaml sends the output, relative to the repository root. */
const GEN_DIR = join('src', 'protocol', 'gen');
if (!existsSync(buf)) {
  console.error('generate: buf is not installed; run `npm ci` first');
  process.exit(1);
}

/** Every file under `dir`, as paths relative to it. */
function filesUnder(dir) {
  if (!existsSync(dir)) return [];
  return (
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      // parentPath from Node 20.12 on; `path` before (engines allows 20.10).
      .map((entry) => relative(dir, join(entry.parentPath ?? entry.path, entry.name)))
  );
}

const scratch = mkdtempSync(join(tmpdir(), 'scale-agent-generate-'));
try {
  const result = spawnSync(buf, ['generate', '--output', scratch], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
  const generated = join(scratch, GEN_DIR);
  const target = join(root, GEN_DIR);
  const fresh = new Set(filesUnder(generated));
  for (const file of fresh) {
    const content = readFileSync(join(generated, file));
    const path = join(target, file);
    if (existsSync(path) && readFileSync(path).equals(content)) continue;
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
  for (const file of filesUnder(target)) if (!fresh.has(file)) rmSync(join(target, file));
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
