// Generates the TypeScript messages of the wire protocol from proto/ with buf and protoc-gen-es, both
// installed from npm. The output (src/protocol/gen) is produced by every install and never committed.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const buf = join(root, 'node_modules', '.bin', 'buf');
if (!existsSync(buf)) {
  console.error('generate: buf is not installed; run `npm ci` first');
  process.exit(1);
}
rmSync(join(root, 'src', 'protocol', 'gen'), { recursive: true, force: true });
const result = spawnSync(buf, ['generate'], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
