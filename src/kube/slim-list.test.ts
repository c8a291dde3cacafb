import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../common/kube-object.ts';
import type { KubeList } from './pager.ts';
import { SlimItem } from './slim-item.ts';
import { retainedPageBufferBytes, slimListDecoder, slimWatchLineDecoder } from './slim-list.ts';
import { LAST_APPLIED_ANNOTATION, slimObject } from './slim.ts';

const CONFIGMAPS = { kind: 'ConfigMap', apiVersion: 'v1' };

/** Decodes a page given as text, split into chunks of `chunkBytes`. */
function decode(text: string, defaults = CONFIGMAPS, chunkBytes = 7): KubeList | undefined {
  const bytes = Buffer.from(text, 'utf8');
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunkBytes) chunks.push(bytes.subarray(i, i + chunkBytes));
  return slimListDecoder(defaults)(chunks, bytes.length);
}

function page(items: unknown[], metadata: Record<string, unknown> = { resourceVersion: '7' }): string {
  return JSON.stringify({ kind: 'ConfigMapList', apiVersion: 'v1', metadata, items });
}

/** What the tree path makes of an item: defaults where it has no kind/apiVersion, then slimObject. */
function slimmed(item: KubeObject, defaults = CONFIGMAPS): KubeObject {
  const copy = structuredClone(item);
  copy.kind ??= defaults.kind;
  copy.apiVersion ??= defaults.apiVersion;
  return slimObject(copy);
}

/** The metadata's JSON as the hub cuts it out of the body's UTF-8 bytes. */
function cut(item: SlimItem): unknown {
  const range = item.json.metadata!;
  return JSON.parse(
    Buffer.from(item.json.body, 'utf8')
      .subarray(range.offset, range.offset + range.length)
      .toString('utf8'),
  );
}

function onlyItem(list: KubeList | undefined): SlimItem {
  const item = list?.items?.[0];
  assert.ok(item instanceof SlimItem, `not slimmed from its bytes: ${JSON.stringify(item)}`);
  return item;
}

/** Asserts that the item slimmed from its bytes says what the tree path says. */
function assertSlimmedLike(item: SlimItem, original: KubeObject, defaults = CONFIGMAPS): void {
  const expected = slimmed(original, defaults);
  assert.deepEqual(JSON.parse(item.json.body), expected);
  assert.deepEqual(Object.keys(JSON.parse(item.json.body) as object).slice(0, 3), ['kind', 'apiVersion', 'metadata']);
  assert.equal(item.json.bodyBytes, Buffer.byteLength(item.json.body));
  assert.deepEqual(cut(item), expected.metadata);
  assert.deepEqual(item.metadata, expected.metadata);
  assert.equal(item.kind, expected.kind);
  assert.equal(item.apiVersion, expected.apiVersion);
  assert.equal(item.name, expected.metadata?.name ?? '');
  assert.equal(item.namespace, expected.metadata?.namespace ?? '');
  assert.equal(item.uid, expected.metadata?.uid ?? '');
  assert.equal(item.resourceVersion, expected.metadata?.resourceVersion ?? '');
  assert.deepEqual(JSON.parse(JSON.stringify(item)), expected);
}

describe('slimListDecoder', () => {
  it('writes kind, apiVersion and metadata first, the list defaults where an item has none', () => {
    const item = { metadata: { name: 'a', namespace: 'ns', uid: 'u-1', resourceVersion: '5' }, data: { k: 'v' } };
    const list = decode(page([item], { resourceVersion: '9', continue: 'tok', remainingItemCount: 3 }));
    assert.deepEqual(list?.metadata, { resourceVersion: '9', continue: 'tok', remainingItemCount: 3 });
    assertSlimmedLike(onlyItem(list), item);
    // Items that carry them keep theirs, moved to the front.
    const custom = { metadata: { name: 'b' }, spec: { x: [1, 2.5e-3, true, null] }, apiVersion: 'example.com/v2', kind: 'Widget' };
    assertSlimmedLike(onlyItem(decode(page([custom]))), custom);
  });

  it('drops managedFields wherever they stand, and the last-applied annotation', () => {
    const managedFields = [{ manager: 'kubectl', fieldsV1: { 'f:metadata': { 'f:labels': { '.': {} } } } }];
    const orders: KubeObject[] = [
      { metadata: { managedFields, name: 'first', annotations: { [LAST_APPLIED_ANNOTATION]: '{"a":1}', keep: 'me' } } },
      { metadata: { name: 'middle', managedFields, annotations: { keep: 'me', [LAST_APPLIED_ANNOTATION]: '{}' }, uid: 'u' } },
      { metadata: { name: 'last', annotations: { a: '1', [LAST_APPLIED_ANNOTATION]: '{}', b: '2' }, managedFields } },
      { metadata: { name: 'alone', annotations: { [LAST_APPLIED_ANNOTATION]: '{}' }, labels: { x: 'y' } } },
      { metadata: { name: 'only-that-one', annotations: { [LAST_APPLIED_ANNOTATION]: '{}' } } },
      { metadata: { name: 'empty', annotations: {}, managedFields } },
      { metadata: { managedFields } },
      { metadata: {} },
    ];
    for (const item of orders) {
      const slim = onlyItem(decode(page([item])));
      assertSlimmedLike(slim, item);
      assert.doesNotMatch(slim.json.body, /managedFields|last-applied/);
    }
  });

  it('leaves no Secret value in what it keeps, however the members are written', () => {
    const values = ['c3VwZXItc2VjcmV0', 'plain-secret', 'escaped-secret'];
    const text =
      '{"items":[{"metadata":{"name":"s","annotations":{"' +
      LAST_APPLIED_ANNOTATION +
      '":"{\\"data\\":{\\"password\\":\\"c3VwZXItc2VjcmV0\\"}}"},"managedFields":[{"fieldsV1":{"f:data":{}}}]},' +
      '"data":{"password":"c3VwZXItc2VjcmV0"},"stringData":{"token":"plain-secret"},"d\\u0061ta":{"x":"escaped-secret"},"type":"Opaque"}]}';
    const slim = onlyItem(decode(text, { kind: 'Secret', apiVersion: 'v1' }));
    for (const value of values) assert.doesNotMatch(slim.json.body, new RegExp(value));
    assert.deepEqual(JSON.parse(slim.json.body), { kind: 'Secret', apiVersion: 'v1', metadata: { name: 's' }, type: 'Opaque' });
    // The kind an item names counts, escaped or not.
    const named = '{"items":[{"kind":"Secr\\u0065t","metadata":{"name":"s"},"data":{"p":"c3VwZXItc2VjcmV0"}}]}';
    assert.doesNotMatch(onlyItem(decode(named)).json.body, /c3VwZXItc2VjcmV0/);
    // Not a Secret: data is the object's.
    assert.match(onlyItem(decode(page([{ metadata: { name: 'c' }, data: { p: 'v' } }]))).json.body, /"data":\{"p":"v"\}/);
  });

  it('gives the metadata range in bytes when an item is not ASCII', () => {
    const item = { metadata: { name: 'ä', namespace: 'ñs', annotations: { a: '✓ 🚀' }, managedFields: [] }, data: { z: 'ünïcödé' } };
    const slim = onlyItem(decode(page([item]), CONFIGMAPS, 3));
    assert.ok(slim.json.bodyBytes > slim.json.body.length);
    assertSlimmedLike(slim, item);
  });

  it('reads whitespace and escapes as JSON.parse does', () => {
    const item = { metadata: { name: 'a\\"b', namespace: 'n\u00e9', uid: '\u0001', resourceVersion: '1' }, spec: { t: 'x\ny', n: -0.5e10 } };
    const pretty = JSON.stringify({ items: [item], metadata: { resourceVersion: '1' } }, null, 2).replace(/\n/g, '\r\n\t');
    assertSlimmedLike(onlyItem(decode(pretty)), item);
    const escapedKeys = '{"items":[{"m\\u0065tadata":{"n\\u0061me":"x","managedFi\\u0065lds":[1]},"spec":{}}]}';
    assertSlimmedLike(onlyItem(decode(escapedKeys)), { metadata: { name: 'x', managedFields: [1] }, spec: {} });
  });

  it('hands over as objects the items it does not slim, for the caller to slim', () => {
    const cases: Array<[string, unknown]> = [
      ['no metadata', { kind: 'X', spec: {} }],
      ['metadata not an object', { metadata: 'text' }],
      ['kind not a string', { kind: 7, metadata: { name: 'a' } }],
      ['not an object', null],
      ['an array', [1, 2]],
    ];
    for (const [why, item] of cases) {
      const list = decode(page([item]));
      assert.ok(!(list?.items?.[0] instanceof SlimItem), why);
      assert.deepEqual(list?.items?.[0], item, why);
    }
    const twice = decode('{"items":[{"metadata":{"name":"a"},"metadata":{"name":"b","managedFields":[]}}]}');
    assert.deepEqual(twice?.items?.[0], { metadata: { name: 'b', managedFields: [] } });
    // Invalid UTF-8 (a lone continuation byte) is decoded with a replacement character, as the text path does.
    const bytes = Buffer.concat([Buffer.from('{"items":[{"metadata":{"name":"'), Buffer.from([0x80]), Buffer.from('"}}]}')]);
    const invalid = slimListDecoder(CONFIGMAPS)([bytes], bytes.length);
    assert.deepEqual(invalid?.items?.[0], { metadata: { name: '\ufffd' } });
  });

  it('fails on what is not JSON, as JSON.parse does, whatever an earlier page left in its buffer', () => {
    const good = page([{ metadata: { name: 'a' } }]);
    assert.ok(decode(good));
    for (const text of [
      good.slice(0, -2),
      good.slice(0, -1),
      `${good}x`,
      '{"items":[01]}',
      '{"items":[1.]}',
      '{"items":[tru]}',
      '{"items":[{"metadata":{"name":"a\\x"}}]}',
      '{"items":[{"metadata":{"name":"a\u0001"}}]}',
      '{"items":[{"metadata":{},}]}',
      '{"items":[{"metadata":{}},]}',
      '{"items":[{"metadata":{}}]',
    ]) {
      assert.ok(decode(good));
      assert.throws(() => decode(text), SyntaxError, text);
    }
    assert.equal(decode(''), undefined);
  });

  it('slims like the tree path across random objects', () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const word = () => ['a', 'b', 'ü', '✓', 'x"y', 'line\nbreak', '123', ''][Math.floor(random() * 8)]!;
    const valueOf = (depth: number): unknown => {
      const r = random();
      if (depth > 3 || r < 0.3) return [word(), 1, -2.5, true, false, null][Math.floor(random() * 6)];
      if (r < 0.6) return Array.from({ length: Math.floor(random() * 3) }, () => valueOf(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, () => [word() + 'k', valueOf(depth + 1)]));
    };
    for (let n = 0; n < 200; n++) {
      const metadata: Record<string, unknown> = { name: `o${n}${word()}`, namespace: word(), uid: `u${n}`, resourceVersion: String(n) };
      if (random() < 0.5) metadata.managedFields = valueOf(1);
      if (random() < 0.7) {
        const annotations: Record<string, string> = { [word() + 'a']: word() };
        if (random() < 0.5) annotations[LAST_APPLIED_ANNOTATION] = JSON.stringify(valueOf(1));
        metadata.annotations = annotations;
      }
      if (random() < 0.5) metadata.labels = { app: word() };
      const item: KubeObject = { metadata, spec: valueOf(1) as object, data: { d: word() } };
      if (random() < 0.5) item.kind = random() < 0.3 ? 'Secret' : 'Thing';
      if (random() < 0.5) item.apiVersion = 'example.com/v1';
      const slim = onlyItem(decode(page([item]), CONFIGMAPS, 1 + Math.floor(random() * 50)));
      assertSlimmedLike(slim, item);
    }
  });

  it('does not keep the buffer of an unusually large page for the pages after it', () => {
    const LARGE_PAGE_CHARS = 20 * 1024 * 1024;
    const item = { metadata: { name: 'big', uid: 'u1', resourceVersion: '1' }, data: { blob: 'x'.repeat(LARGE_PAGE_CHARS) } };
    const slim = onlyItem(decode(page([item]), CONFIGMAPS, LARGE_PAGE_CHARS));
    assert.equal(slim.name, 'big');
    // The buffer is the process's, for every reflector's pages: twice a 20 MiB page is not kept for good.
    assert.ok(retainedPageBufferBytes() < 2 * LARGE_PAGE_CHARS, `${retainedPageBufferBytes()} bytes kept`);
  });
});

describe('slimWatchLineDecoder', () => {
  const decodeLine = (text: string, defaults = CONFIGMAPS) => slimWatchLineDecoder(defaults)(Buffer.from(text, 'utf8'));

  function onlyObject(text: string, defaults = CONFIGMAPS): SlimItem {
    const event = decodeLine(text, defaults);
    assert.ok(event?.object instanceof SlimItem, `not slimmed from its bytes: ${text}`);
    return event.object;
  }

  it('slims the object of ADDED, MODIFIED and DELETED events like the tree path, whatever the member order', () => {
    const object = {
      metadata: {
        name: 'a',
        namespace: 'ns',
        uid: 'u',
        resourceVersion: '12',
        managedFields: [{ manager: 'm' }],
        annotations: { [LAST_APPLIED_ANNOTATION]: '{}' },
      },
      data: { k: 'v' },
    };
    for (const type of ['ADDED', 'MODIFIED', 'DELETED'] as const) {
      const event = decodeLine(JSON.stringify({ type, object }));
      assert.equal(event?.type, type);
      assertSlimmedLike(event!.object as unknown as SlimItem, object);
      // The object before the type, whitespace around everything, other members skipped.
      const reordered = ` { "object" : ${JSON.stringify(object, null, 1)} ,\t"extra": [1, {"x": null}], "type":"${type}" } \r`;
      assertSlimmedLike(onlyObject(reordered), object);
    }
    // An object that names its kind and apiVersion keeps them.
    const widget = { kind: 'Widget', apiVersion: 'example.com/v1', metadata: { name: 'w' }, spec: { ü: '✓' } };
    assertSlimmedLike(onlyObject(JSON.stringify({ type: 'ADDED', object: widget })), widget);
  });

  it('leaves no Secret value in what it keeps', () => {
    const line =
      '{"type":"MODIFIED","object":{"metadata":{"name":"s"},"data":{"password":"c3VwZXItc2VjcmV0"},"stringData":{"t":"plain-secret"},"type":"Opaque"}}';
    const slim = onlyObject(line, { kind: 'Secret', apiVersion: 'v1' });
    assert.doesNotMatch(slim.json.body, /c3VwZXItc2VjcmV0|plain-secret/);
    assert.deepEqual(JSON.parse(slim.json.body), { kind: 'Secret', apiVersion: 'v1', metadata: { name: 's' }, type: 'Opaque' });
  });

  it('declines, for the caller to parse whole, every line that is not an event with a resource it can slim', () => {
    for (const line of [
      '',
      '  \r',
      '{"type":"BOOKMARK","object":{"kind":"ConfigMap","metadata":{"resourceVersion":"9"}}}',
      '{"type":"ERROR","object":{"kind":"Status","code":410}}',
      '{"type":"WHAT","object":{"metadata":{}}}',
      '{"type":"\\u0041DDED","object":{"metadata":{}}}',
      '{"type":"ADDED"}',
      '{"object":{"metadata":{}}}',
      '{"type":"ADDED","type":"ADDED","object":{"metadata":{}}}',
      '{"type":"ADDED","object":{"metadata":{}},"object":{"metadata":{}}}',
      '{"type":"ADDED","object":{"kind":"X"}}',
      '{"type":"ADDED","object":null}',
      '{"type":"ADDED","object":{"metadata":{}}}x',
      '{"type":"ADDED","object":{"metadata":{}}',
      '{"type":"ADDED","object":{"metadata":{"name":"a\\x"}}}',
      '<html>oops</html>',
      '{}',
    ]) {
      assert.equal(decodeLine(line), undefined, line);
    }
  });
});
