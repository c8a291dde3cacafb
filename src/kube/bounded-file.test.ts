import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readBoundedTextFile } from './bounded-file.ts';

describe('readBoundedTextFile', () => {
  it('reads a regular file up to the bound, and refuses a larger one without reading it all', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bounded-file-'));
    const path = join(dir, 'f');
    await writeFile(path, 'x'.repeat(100));
    assert.equal(await readBoundedTextFile(path, 100), 'x'.repeat(100));
    await assert.rejects(readBoundedTextFile(path, 99), /the file has 100 bytes; at most 99 are read/);
  });

  it('reads files whose size the file system does not report (/proc), still within the bound', async () => {
    assert.match(await readBoundedTextFile('/proc/self/status'), /^Name:/);
    await assert.rejects(readBoundedTextFile('/proc/self/status', 10), /more than 10 bytes/);
  });
});
