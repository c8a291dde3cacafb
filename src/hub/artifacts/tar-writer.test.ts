// The tar writer against GNU tar: names longer than ustar's fields (pax headers), links, modes, the
// commit comment, and the archive padded to whole 10 KiB records as tar and git archive write it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { TarWriter, type TarEntry } from './tar-writer.ts';

const RECORD_BYTES = 10240;
const MTIME = 1_704_164_645;
const LONG_DIR = `${'d'.repeat(60)}/${'e'.repeat(60)}`;
const VERY_LONG_NAME = 'n'.repeat(180);

function archive(entries: TarEntry[]): Buffer {
  const chunks: Buffer[] = [];
  const tar = new TarWriter((chunk) => chunks.push(chunk), MTIME);
  tar.comment('0123456789abcdef0123456789abcdef01234567');
  for (const entry of entries) tar.add(entry);
  tar.end();
  const bytes = Buffer.concat(chunks);
  assert.equal(tar.written, bytes.length);
  return bytes;
}

test('GNU tar lists what was written, long names and link targets included', () => {
  const bytes = archive([
    { kind: 'directory', path: 'deploy' },
    { kind: 'file', path: 'deploy/app.yaml', data: Buffer.from('kind: ConfigMap\n'), executable: false },
    { kind: 'file', path: 'run.sh', data: Buffer.from('#!/bin/sh\n'), executable: true },
    { kind: 'directory', path: LONG_DIR },
    { kind: 'file', path: `${LONG_DIR}/split-into-prefix-and-name.yaml`, data: Buffer.alloc(0), executable: false },
    { kind: 'file', path: `${LONG_DIR}/${VERY_LONG_NAME}`, data: Buffer.from('x'), executable: false },
    { kind: 'symlink', path: 'link', target: `${LONG_DIR}/${VERY_LONG_NAME}` },
    { kind: 'file', path: 'déploiement/ünïcode.yaml', data: Buffer.from('é'), executable: false },
  ]);
  assert.equal(bytes.length % RECORD_BYTES, 0);
  const listing = execFileSync('tar', ['-tvf', '-', '--utc', '--numeric-owner'], { input: bytes, encoding: 'utf8' }).trim().split('\n');
  const rows = listing.map((line) => {
    const [mode, owner, size, date, time, ...rest] = line.split(/\s+/);
    return { mode, owner, size, when: `${date} ${time}`, name: rest.join(' ') };
  });
  assert.deepEqual(
    rows.map((r) => `${r.mode} ${r.size} ${r.name}`),
    [
      'drwxrwxr-x 0 deploy/',
      '-rw-rw-r-- 16 deploy/app.yaml',
      '-rwxrwxr-x 10 run.sh',
      `drwxrwxr-x 0 ${LONG_DIR}/`,
      `-rw-rw-r-- 0 ${LONG_DIR}/split-into-prefix-and-name.yaml`,
      `-rw-rw-r-- 1 ${LONG_DIR}/${VERY_LONG_NAME}`,
      `lrwxrwxrwx 0 link -> ${LONG_DIR}/${VERY_LONG_NAME}`,
      '-rw-rw-r-- 2 déploiement/ünïcode.yaml',
    ],
  );
  assert.ok(rows.every((r) => r.owner === '0/0' && r.when === '2024-01-02 03:04'));
});

test('the pax global header carries the comment, as git archive writes the commit id', () => {
  const bytes = archive([]);
  assert.equal(bytes.subarray(0, 17).toString(), 'pax_global_header');
  assert.equal(String.fromCharCode(bytes[156]!), 'g');
  assert.equal(bytes.subarray(512, 564).toString(), '52 comment=0123456789abcdef0123456789abcdef01234567\n');
  // GNU tar reads the header as a global one and lists nothing.
  assert.equal(execFileSync('tar', ['-tf', '-'], { input: bytes, encoding: 'utf8' }), '');
});

test("a hostile commit time (huge, negative, not a number) is clamped to ustar's range, never spilling into the next field", () => {
  const MAX_TIME = 8 ** 11 - 1;
  for (const [mtime, written] of [
    [1e300, MAX_TIME],
    [1e20, MAX_TIME],
    [-1, 0],
    [Number.NaN, 0],
    [1_700_000_000.7, 1_700_000_000],
  ] as const) {
    const chunks: Buffer[] = [];
    const tar = new TarWriter((chunk) => chunks.push(chunk), mtime);
    tar.add({ kind: 'file', path: 'a.txt', data: Buffer.from('hi'), executable: false });
    const header = Buffer.concat(chunks).subarray(0, 512);
    assert.equal(header.toString('latin1', 136, 148), `${written.toString(8).padStart(11, '0')}\0`, String(mtime));
    assert.equal(header.toString('latin1', 156, 157), '0', `${mtime}: the type flag is intact`);
    assert.equal(
      header.subarray(157, 257).every((b) => b === 0),
      true,
      `${mtime}: no link name`,
    );
  }
});
