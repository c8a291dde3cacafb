// A Helm index parsed on a worker thread: the entries (versions as the strings written, URLs), the
// refusals (not YAML, the wrong shape, entries shared through aliases), and that the event loop keeps
// running while a large index is parsed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Errors, isScaleAgentError } from '../../common/errors.ts';
import { parseHelmIndex } from './helm-index.ts';

const DEADLINE_MS = 30_000;
/** The event loop must turn at least this often while a large index is parsed (it turns freely off-thread). */
const MIN_LOOP_TURNS = 2;

/** An index of about this size takes a parse long enough to watch the event loop during it. */
const LARGE_INDEX_BYTES = 8 * 1024 * 1024;

function parse(text: string): Promise<Map<string, Array<{ version: string; urls: string[] }>>> {
  return parseHelmIndex(Buffer.from(text), 'https://charts.example', DEADLINE_MS);
}

async function invalid(text: string): Promise<string> {
  try {
    await parse(text);
  } catch (err) {
    assert.ok(isScaleAgentError(err, Errors.ARTIFACT_FETCH_FAILED.code), String(err));
    return err.message;
  }
  assert.fail('expected an invalid index');
}

/** An index as `helm repo index` writes it, with the fields a public repository's entries carry. */
function largeIndex(bytes: number): string {
  const parts = ['apiVersion: v1\nentries:\n'];
  let size = 0;
  for (let chart = 0; size < bytes; chart++) {
    let text = `  chart-${chart}:\n`;
    for (let v = 0; v < 40; v++) {
      text +=
        `  - annotations:\n      category: Infrastructure\n    apiVersion: v2\n    appVersion: 1.${v}.0\n` +
        `    created: "2024-01-02T03:04:05.123456789Z"\n    dependencies:\n    - name: common\n      repository: oci://registry.example/charts\n      version: 2.x.x\n` +
        `    description: A chart with a description of a usual length, number ${chart}.${v}\n    digest: ${'ab'.repeat(32)}\n` +
        `    home: https://charts.example\n    keywords:\n    - http\n    maintainers:\n    - name: Example, Inc.\n      url: https://example.com\n` +
        `    name: chart-${chart}\n    urls:\n    - https://charts.example/chart-${chart}-1.${v}.0.tgz\n    version: 1.${v}.0\n`;
    }
    parts.push(text);
    size += text.length;
  }
  return parts.join('');
}

test('the entries: names, versions as written, URLs; nothing else is kept', async () => {
  const index = await parse(
    [
      'apiVersion: v1',
      'entries:',
      '  demo:',
      '  - name: demo',
      '    version: 1.10',
      '    description: kept out',
      '    urls: [demo-1.10.tgz, "https://mirror.example/demo-1.10.tgz", 7]',
      '  - {name: demo, version: "1.9.0", urls: [demo-1.9.0.tgz]}',
      '  empty: []',
      'generated: "2024-01-01T00:00:00Z"',
    ].join('\n'),
  );
  assert.deepEqual(
    [...index],
    [
      [
        'demo',
        [
          { version: '1.10', urls: ['demo-1.10.tgz', 'https://mirror.example/demo-1.10.tgz', '7'] },
          { version: '1.9.0', urls: ['demo-1.9.0.tgz'] },
        ],
      ],
      ['empty', []],
    ],
  );
  assert.deepEqual([...(await parse('apiVersion: v1\nentries:\n'))], []);
  assert.deepEqual([...(await parse('apiVersion: v1\n'))], []);
});

test('what is not an index is ARTIFACT_FETCH_FAILED saying why', async () => {
  assert.match(await invalid('entries: [a, b]\n'), /invalid index.yaml in repository https:\/\/charts\.example: entries is not a map of chart names/);
  assert.match(await invalid('entries:\n  demo: nope\n'), /entries\.demo is not a list/);
  assert.match(await invalid('entries: {demo: [\n'), /invalid index.yaml/);
  // Helm never writes aliases; entries shared through them would be walked again for every reference.
  assert.match(
    await invalid('entries:\n  a: &list\n  - {version: 1.0.0, urls: [a.tgz]}\n  b: *list\n'),
    /entries\.b repeats another list through a YAML alias/,
  );
  assert.match(await invalid('x: &e {version: 1.0.0}\nentries:\n  a: [*e, *e]\n'), /entries\.a repeats an entry through a YAML alias/);
  // A billion-laughs document: aliases are references, so it parses at once and is refused.
  const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (const [name, previous] of [
    ['b', 'a'],
    ['c', 'b'],
    ['d', 'c'],
    ['e', 'd'],
    ['f', 'e'],
    ['g', 'f'],
    ['h', 'g'],
    ['i', 'h'],
  ]) {
    bomb.push(`${name}: &${name} [${Array(10).fill(`*${previous}`).join(', ')}]`);
  }
  bomb.push('entries:\n  boom: *i');
  assert.match(await invalid(bomb.join('\n')), /entries\.boom/);
});

test('a large index is parsed while the event loop keeps running', async () => {
  const text = largeIndex(LARGE_INDEX_BYTES);
  // Counts turns of the event loop until the parse settles. Parsed on the event loop, the call would
  // return a settled promise and no turn could come first; on its own thread, the loop goes on turning.
  let settled = false;
  let turns = 0;
  const turn = (): void => {
    if (settled) return;
    turns += 1;
    setImmediate(turn);
  };
  setImmediate(turn);
  try {
    const index = await parse(text);
    assert.ok(index.size > 100);
    assert.equal(index.get('chart-0')!.length, 40);
    assert.deepEqual(index.get('chart-1')![2], { version: '1.2.0', urls: ['https://charts.example/chart-1-1.2.0.tgz'] });
  } finally {
    settled = true;
  }
  assert.ok(turns >= MIN_LOOP_TURNS, `the event loop turned ${turns} times during the parse`);
});
