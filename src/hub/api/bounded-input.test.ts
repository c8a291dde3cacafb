import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { isScaleAgentError, type ErrorCode } from '../../common/errors.ts';
import { checkNesting, checkValue, MAX_NESTING_DEPTH, parseYamlDocuments, YAML_LIMITS, type YamlLimits } from './bounded-input.ts';
import { parseOps } from './ops/parse-request.ts';

/**
 * The structural bounds on what a REST caller can make the hub walk. No test here measures time: each
 * shows instead that the refusal comes after a bounded amount of reading (nothing past the limit is
 * touched, the position reported is at the limit, not at the end of the input).
 */
function refused(code: ErrorCode, message: RegExp) {
  return (err: unknown) => {
    assert.ok(isScaleAgentError(err, code), `expected ${code}, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  };
}

/** `levels` arrays one inside another, built without recursion. */
function nestedArrays(levels: number, innermost: unknown[] = []): unknown[] {
  let value = innermost;
  for (let i = 1; i < levels; i++) value = [value];
  return value;
}

/** A value whose every property read throws: planted where a bounded walk must never look. */
const untouchable = new Proxy([], {
  get() {
    throw new Error('read past the nesting limit');
  },
  ownKeys() {
    throw new Error('read past the nesting limit');
  },
});

const b64yaml = (text: string) => parseYamlDocuments(text, 'x.reference', (i) => `x[${i}]`);
const small = (limits: Partial<YamlLimits>) => (text: string) => parseYamlDocuments(text, 'x.reference', (i) => `x[${i}]`, { ...YAML_LIMITS, ...limits });

describe('checkNesting (JSON bodies)', () => {
  test('MAX_NESTING_DEPTH levels pass; one more is REQUEST_TOO_COMPLEX naming the path', () => {
    checkNesting(nestedArrays(MAX_NESTING_DEPTH));
    let deep: unknown = 1;
    for (let i = 0; i <= MAX_NESTING_DEPTH; i++) deep = { a: deep };
    assert.throws(
      () => checkNesting([{ deployManifest: { manifests: [deep] } }]),
      refused('REQUEST_TOO_COMPLEX', /^\[0\]\.deployManifest\.manifests\[0\]\.a\.a\.a.*…: nests deeper than 200 levels; at most 200 are allowed$/),
    );
  });

  test('a 100,000-level array is refused at the limit without reading below it (no recursion, no stack overflow)', () => {
    // The text form, parsed as the REST body parser does (JSON.parse does not recurse in V8).
    const text = '['.repeat(100_000) + ']'.repeat(100_000);
    assert.throws(() => checkNesting(JSON.parse(text)), refused('REQUEST_TOO_COMPLEX', /^\[0\]\[0\]\[0\].*…: nests deeper than 200 levels/));
    // Structurally bounded: everything from level MAX_NESTING_DEPTH + 1 down throws when read.
    const fenced = nestedArrays(MAX_NESTING_DEPTH, [untouchable]);
    assert.throws(() => checkNesting(nestedArrays(100_000 - MAX_NESTING_DEPTH, [fenced])), refused('REQUEST_TOO_COMPLEX', /nests deeper than 200 levels/));
    assert.throws(() => checkNesting(fenced), refused('REQUEST_TOO_COMPLEX', /nests deeper than 200 levels/));
  });

  test('cycles are refused as too deep; wide values and long keys are shown shortened', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    assert.throws(() => checkNesting(cycle, 'body'), refused('REQUEST_TOO_COMPLEX', /^body\.self\.self.*…: nests deeper/));
    checkNesting(Array.from({ length: 20_000 }, (_, i) => ({ [`k${i}`]: [i] })));
    let deep: unknown = 1;
    for (let i = 0; i <= MAX_NESTING_DEPTH; i++) deep = { ['k'.repeat(1000)]: deep };
    assert.throws(
      () => checkNesting(deep),
      (err: unknown) => isScaleAgentError(err, 'REQUEST_TOO_COMPLEX') && err.message.length < 1000,
    );
  });

  test('parseOps refuses a deep description itself (stored requests, callers other than the REST body parser)', () => {
    const body = JSON.parse(
      `[{"patchManifest":{"account":"k8s","manifestName":"configMap c","location":"x","patchBody":{"spec":${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}}}}]`,
    );
    assert.throws(() => parseOps(body), refused('REQUEST_TOO_COMPLEX', /^\[0\]\.patchManifest\.patchBody\.spec\.a\.a.*…: nests deeper than 200 levels/));
  });

  test('value and character budgets are shared across calls (the documents of one artifact)', () => {
    const count = checkValue({ a: 'xy' }, 'd', { maxDepth: 5, maxValues: 3, maxChars: 10 });
    assert.deepEqual(count, { values: 2, chars: 3 });
    assert.throws(
      () => checkValue([1, 2], 'e', { maxDepth: 5, maxValues: 3, what: 'the decoded YAML' }, count),
      refused('REQUEST_TOO_COMPLEX', /^e\[0\]: the decoded YAML holds more than 3 values/),
    );
  });
});

describe('parseYamlDocuments (embedded artifacts)', () => {
  test('ordinary YAML and JSON decode as the yaml package does, anchors and aliases included', () => {
    const text =
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: &l {app: web}}\ndata: {x: "1"}\nspec: {template: {metadata: {labels: *l}}}\n---\n---\n{"kind": "Service", "metadata": {"labels": {"app": "web"}}}\n';
    assert.deepEqual(
      b64yaml(text),
      parseAllDocuments(text).map((d) => d.toJS()),
    );
  });

  test("a YAML alias bomb is REQUEST_TOO_COMPLEX, from the yaml package's maxAliasCount", () => {
    const letters = 'abcdefghi';
    const bomb = [
      'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      ...[...letters.slice(1)].map((l, i) => `${l}: &${l} [${Array(9).fill(`*${letters[i]}`).join(',')}]`),
    ].join('\n');
    assert.throws(
      () => b64yaml(bomb),
      refused(
        'REQUEST_TOO_COMPLEX',
        /^x\.reference: the YAML's aliases expand too far \(Excessive alias count.*\); an anchor may be repeated at most 100 times/,
      ),
    );
  });

  test('aliases that stay under maxAliasCount still cannot expand past the values, characters and depth of a decoded document', () => {
    const items = `a: &a [${'1,'.repeat(99)}1]\nb: [${Array(50).fill('*a').join(',')}]\n`;
    assert.equal(small({ maxDecodedValues: 10_000 })(items).length, 1);
    assert.throws(
      () => small({ maxDecodedValues: 1_000 })(items),
      refused('REQUEST_TOO_COMPLEX', /^x\[0\]\.b\[\d+\]\[\d+\]: the decoded YAML \(aliases expanded\) holds more than 1000 values/),
    );
    const chars = `a: &a "${'x'.repeat(1000)}"\nb: [${Array(50).fill('*a').join(',')}]\n`;
    assert.throws(
      () => small({ maxDecodedChars: 20_000 })(chars),
      refused('REQUEST_TOO_COMPLEX', /^x\[0\]\.b\[\d+\]: the decoded YAML \(aliases expanded\) holds more than 20000 characters/),
    );
    const stacked = `a: &a ${'['.repeat(150)}${']'.repeat(150)}\nb: ${'['.repeat(150)}*a${']'.repeat(150)}\n`;
    assert.throws(() => b64yaml(stacked), refused('REQUEST_TOO_COMPLEX', /^x\[0\]\.b\[0\]\[0\].*…: nests deeper than 200 levels/));
    assert.throws(() => b64yaml('a: &a [*a]\n'), refused('REQUEST_TOO_COMPLEX', /^x\[0\]\.a\[0\]\[0\].*…: nests deeper than 200 levels/));
  });

  test('a 100,000-level YAML flow sequence or 3,000-level block mapping is refused at the limit, before anything recurses', () => {
    // The position reported is where reading stopped: at the limit, not at the end of the text.
    const flow = 'data: ' + '['.repeat(100_000) + ']'.repeat(100_000);
    assert.throws(
      () => b64yaml(flow),
      refused('REQUEST_TOO_COMPLEX', /^x\.reference: the YAML nests deeper than 200 levels \(at line 1, column 2\d\d\); at most 200 are allowed$/),
    );
    const block = Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + ' x\n';
    assert.throws(() => b64yaml(block), refused('REQUEST_TOO_COMPLEX', /^x\.reference: the YAML nests deeper than 200 levels \(at line 2\d\d, column \d+\)/));
  });

  test('the number of tokens, documents, and anchors plus aliases is bounded while reading', () => {
    assert.throws(
      () => small({ maxTokens: 1000 })(`a: [${'1,'.repeat(100_000)}]`),
      refused('REQUEST_TOO_COMPLEX', /^x\.reference: the YAML has more than 1000 tokens \(at line 1, column \d{3}\)/),
    );
    assert.throws(() => b64yaml('---\n'.repeat(100_000)), refused('REQUEST_TOO_COMPLEX', /^x\.reference: the YAML has more than 1000 documents/));
    // Resolving an alias scans the anchors and aliases before it: quadratic without this bound.
    let anchors = 'a:\n';
    for (let i = 0; i < 5000; i++) anchors += `- &a${i} x\n- *a${i}\n`;
    assert.throws(
      () => b64yaml(anchors),
      refused('REQUEST_TOO_COMPLEX', /^x\.reference: the YAML has more than 1000 anchors and aliases \(at line 1002, column 3\)/),
    );
    // Scalars that look like anchors or aliases are not counted.
    assert.equal(small({ maxAnchorsAndAliases: 1 })(`a: ["*b", '&c', "x*y"]\n`).length, 1);
  });

  test('repeated keys are REQUEST_INVALID (found in linear time), as are syntax errors', () => {
    assert.throws(
      () => b64yaml('a: 1\nb: 2\na: 3\n'),
      refused('REQUEST_INVALID', /^x\.reference: is not valid YAML or JSON: map keys must be unique \("a" at line 3, column 1\)$/),
    );
    assert.throws(() => b64yaml('{"a": 1, "a": 2}'), refused('REQUEST_INVALID', /map keys must be unique/));
    assert.equal(b64yaml('{1: a, "1": b}').length, 1);
    const wide = Array.from({ length: 10_000 }, (_, i) => `k${i}: 1`).join('\n') + '\nk0: 2\n';
    assert.throws(() => b64yaml(wide), refused('REQUEST_INVALID', /map keys must be unique \("k0" at line 10001, column 1\)/));
    assert.throws(() => b64yaml('a: [unclosed'), refused('REQUEST_INVALID', /^x\.reference: is not valid YAML or JSON: .* at line 1, column \d+$/));
  });
});
