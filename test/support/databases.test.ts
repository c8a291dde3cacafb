// forEachEngine's clean-up (stores closed, database dropped, server connection closed) runs after the
// body's after hooks, and still runs when one of them fails. Tried on SQLite in a child process, since
// the suites under test fail on purpose: a store the clean-up closed no longer answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DATABASES_MODULE = new URL('./databases.ts', import.meta.url).href;
const NO_SERVERS = JSON.stringify({ postgres: { state: 'skipped', reason: 'not used here' }, mysql: { state: 'skipped', reason: 'not used here' } });

const FIXTURE = `
import { after, before, test } from 'node:test';
import { forEachEngine } from ${JSON.stringify(DATABASES_MODULE)};

const answers = async (store) => store.listAccounts().then(() => true, () => false);
const seen = {};
const stores = {};
forEachEngine('hooks that pass', (engine) => {
  before(async () => (stores.passing = await engine.openStore()));
  after(async () => (seen.openInBodyAfter = await answers(stores.passing)));
  test('runs', () => {});
}, ['sqlite']);
forEachEngine('hooks that fail', (engine) => {
  let store;
  before(async () => {
    stores.failing = await engine.openStore();
    throw new Error('the body before fails');
  });
  // As many bodies do: the store its before did not get to set is undefined here.
  after(async () => store.close());
  test('never runs', () => {});
}, ['sqlite']);
after(async () => {
  seen.passingClosed = !(await answers(stores.passing));
  seen.failingClosed = !(await answers(stores.failing));
  console.log('SEEN ' + JSON.stringify(seen));
});
`;

test("forEachEngine cleans up after the body's after hooks, even when one of them fails", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'scale-agent-databases-'));
  try {
    const fixture = join(dir, 'fixture.mts');
    writeFileSync(fixture, FIXTURE);
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SCALE_AGENT_TEST_DATABASES: NO_SERVERS },
    });
    let output = '';
    for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    await new Promise((resolve) => child.on('close', resolve));
    const line = /^SEEN (.*)$/m.exec(output);
    assert.ok(line, output);
    assert.deepEqual(JSON.parse(line[1]!), { openInBodyAfter: true, passingClosed: true, failingClosed: true }, output);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
