// The error catalogue, the code that raises errors, the protocol's comments and the docs must agree (in
// the manner of Fastify's test of its error codes): a code raised anywhere is declared in the catalogue,
// every declared code is documented, and what the docs and the proto name as a code exists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Errors } from './errors.ts';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const CATALOGUE = new Set(Object.keys(Errors));
const CODE = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/;

function files(dir: string, suffix: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'gen' || name === 'node_modules') continue;
    if (statSync(path).isDirectory()) out.push(...files(path, suffix));
    else if (name.endsWith(suffix) && !name.endsWith(`.test${suffix}`)) out.push(path);
  }
  return out;
}

test('every catalogue entry is named by its code', () => {
  for (const [key, definition] of Object.entries(Errors)) assert.equal(definition.code, key);
});

test('every code the source raises as a literal is in the catalogue', () => {
  // Literal codes in the places codes go: refusals, results' error codes, thrown definitions.
  const places = /(?:refuse\((?:call, )?|refusalCode: |errorCode: |Errors\.)'?([A-Z][A-Z0-9_]+)'?/g;
  const unknown: string[] = [];
  for (const file of files(join(ROOT, 'src'), '.ts')) {
    for (const match of readFileSync(file, 'utf8').matchAll(places)) {
      const code = match[1]!;
      if (CODE.test(code) && !CATALOGUE.has(code)) unknown.push(`${relative(ROOT, file)}: ${code}`);
    }
  }
  assert.deepEqual(unknown, []);
});

test('the source names catalogue codes by reference (Errors.X.code), never as string literals', () => {
  // A literal compiles even when it names a code that was renamed or removed; a reference does not.
  const quoted = /['"`]([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)['"`]/g;
  const literal: string[] = [];
  for (const file of files(join(ROOT, 'src'), '.ts')) {
    if (file.endsWith(join('common', 'errors.ts'))) continue;
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (/^\s*(\/\*|\*)/.test(line)) return; // a doc comment
        const code = line.slice(0, line.includes('//') ? line.indexOf('//') : undefined);
        for (const match of code.matchAll(quoted)) if (CATALOGUE.has(match[1]!)) literal.push(`${relative(ROOT, file)}:${i + 1}: ${match[1]}`);
      });
  }
  assert.deepEqual(literal, []);
});

test('every catalogue code is documented, and every code the docs list is in the catalogue', () => {
  const docs = files(join(ROOT, 'docs'), '.md')
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  assert.deepEqual(
    [...CATALOGUE].filter((code) => !docs.includes(code)),
    [],
    'codes no page of docs/ mentions',
  );
  // The code columns of docs/operations.md's tables of codes.
  const operations = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
  const listed: string[] = [];
  for (const section of operations.split(/\n## /).filter((s) => /^Failure codes/.test(s))) {
    for (const row of section.split('\n').filter((l) => l.startsWith('| `'))) {
      const first = row.split('|')[1]!;
      for (const [, code] of first.matchAll(/`([A-Z][A-Z0-9_]+)`/g)) listed.push(code!);
    }
  }
  assert.ok(listed.length > 20, `the tables list ${listed.length} codes`);
  assert.deepEqual(
    listed.filter((code) => !CATALOGUE.has(code)),
    [],
    'codes the docs list that the catalogue lacks',
  );
});

test("the codes the protocol's comments name exist", () => {
  const proto = readFileSync(join(ROOT, 'proto', 'scaleagent', 'v1', 'agent_hub.proto'), 'utf8');
  const named = proto
    .split('\n')
    .filter((line) => line.includes('//') && /code/i.test(line))
    .flatMap((line) => [...line.slice(line.indexOf('//')).matchAll(/\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b/g)].map((m) => m[1]!));
  assert.ok(named.length > 0);
  assert.deepEqual(
    named.filter((code) => !CATALOGUE.has(code)),
    [],
  );
});
