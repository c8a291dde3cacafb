import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../common/kube-object.ts';
import type { KubeList } from './pager.ts';
import { SlimItem } from './slim-item.ts';
import { retainedPageBufferBytes, slimListDecoder, slimWatchLineDecoder } from './slim-list.ts';
import { LAST_APPLIED_ANNOTATION, slimObject } from './slim.ts';
import { objectJson } from '../agent/sync/object-json.ts';
import { parseWatchLine } from './watch-event.ts';

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
  it('takes only lines the old path reads, and makes of them what it made, across random and mangled lines', () => {
    let seed = 7;
    const random = (): number => {
      seed = (seed + 0x6d2b79f5) >>> 0;
      let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    };
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const space = (): string => (random() < 0.85 ? '' : pick([' ', '\t', '\n', '\r', ' \r\n ']));
    // Strings written as JSON.stringify does, or with some characters escaped.
    const str = (text: string): string => {
      if (random() < 0.7) return JSON.stringify(text);
      let out = '"';
      for (const ch of text) {
        const code = ch.charCodeAt(0);
        if (random() < 0.3 || code < 0x20) out += `\\u${code.toString(16).padStart(4, '0')}`;
        else out += ch === '"' || ch === '\\' ? `\\${ch}` : ch;
      }
      return out + (random() < 0.1 ? pick(['\\/', '\\b', '\\ud800']) : '') + '"';
    };
    const words = ['a', 'ü', '✓', '𝄞', 'x"y', 'line\nbreak', '0', '12', '', '__proto__', 'toJSON', 'kind', 'data', 'type', 'object', 'metadata'];
    const numbers = ['0', '1', '-2.5', '1e-400', '12345678901234567890', '1E+2', '0.5e-3'];
    const unlike = ['-0', '-0.0', '1e400', '-1e400', '-1e-400']; // JSON.stringify writes them as other values
    const number = (): string => (random() < 0.1 ? pick(unlike) : pick(numbers));
    const scalar = (): string => pick([() => str(pick(words)), number, () => pick(['true', 'false', 'null'])])();
    const obj = (members: Array<[string, string]>): string => {
      if (random() < 0.08 && members.length > 0) members.push(pick(members));
      if (random() < 0.5) members.sort(() => random() - 0.5);
      return `{${space()}${members.map(([k, v]) => `${str(k)}${space()}:${space()}${v}`).join(`${space()},${space()}`)}${space()}}`;
    };
    const value = (depth: number): string => {
      const r = random();
      if (depth > 3 || r < 0.4) return scalar();
      if (r < 0.65) return `[${Array.from({ length: Math.floor(random() * 3) }, () => value(depth + 1)).join(',')}]`;
      return obj(Array.from({ length: Math.floor(random() * 4) }, () => [pick(words), value(depth + 1)]));
    };
    const id = (): string => (random() < 0.93 ? str(pick(['a', 'ü', '12', '', 'x"y'])) : pick(['null', '5', '{}']));
    const metadata = (): string => {
      const members: Array<[string, string]> = [];
      for (const field of ['name', 'namespace', 'uid', 'resourceVersion']) if (random() < 0.8) members.push([field, id()]);
      if (random() < 0.4) members.push(['managedFields', value(1)]);
      if (random() < 0.6) {
        const annotations: Array<[string, string]> = [[pick(words), str(pick(words))]];
        if (random() < 0.5) annotations.push([LAST_APPLIED_ANNOTATION, str('{"secret":"LAST-APPLIED"}')]);
        if (random() < 0.5) annotations.push(['moniker.spinnaker.io/application', str('app')]);
        members.push(['annotations', random() < 0.95 ? obj(annotations) : pick(['null', '[]'])]);
      }
      if (random() < 0.3) members.push([pick(words), value(1)]);
      return obj(members);
    };
    const object = (): string => {
      const members: Array<[string, string]> = [];
      if (random() < 0.5) members.push(['kind', random() < 0.93 ? str(pick(['Secret', 'ConfigMap', 'Sëcret'])) : pick(['null', '5'])]);
      if (random() < 0.5) members.push(['apiVersion', str(pick(['v1', 'ü/v1']))]);
      if (random() < 0.97) members.push(['metadata', random() < 0.95 ? metadata() : pick(['null', '[]'])]);
      if (random() < 0.5) members.push(['data', obj([['password', str('SECRET-VALUE')]])]);
      if (random() < 0.3) members.push(['stringData', random() < 0.8 ? obj([['t', str('SECRET-VALUE')]]) : str('SECRET-VALUE')]);
      if (random() < 0.6) members.push([pick(['spec', ...words]), value(1)]);
      return obj(members);
    };
    const event = (): string => {
      const members: Array<[string, string]> = [];
      if (random() < 0.97) members.push(['type', str(pick(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR', 'added']))]);
      if (random() < 0.97) members.push(['object', random() < 0.97 ? object() : pick(['null', '[]', '"x"'])]);
      if (random() < 0.1) members.push([pick(words), value(1)]);
      return space() + obj(members) + space();
    };
    // Mangled: a byte removed, inserted or replaced, the line cut short or given a tail.
    const bytes = [0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x22, 0x5c, 0x00, 0x80, 0xff, 0xc3, 0xe2, 0xf0, 0x20, 0x75, 0x30, 0x65, 0x2d, 0x2e, 0x0b];
    const mangle = (line: Buffer): Buffer => {
      const b = Array.from(line);
      for (let k = 1 + Math.floor(random() * 3); k > 0; k--) {
        const at = Math.floor(random() * (b.length + 1));
        const r = random();
        if (r < 0.3) b.splice(at, 1);
        else if (r < 0.6) b.splice(at, 0, pick(bytes));
        else if (r < 0.8) b[at] = pick(bytes);
        else if (r < 0.9) b.length = at;
        else b.push(...Buffer.from(pick(['x', '}', '\u00a0', '\ufeff', '\u0000', ',{}'])));
      }
      return Buffer.from(b);
    };

    const secrets = { kind: 'Secret', apiVersion: 'v1' };
    const decoders = [CONFIGMAPS, secrets].map((defaults) => ({ defaults, decode: slimWatchLineDecoder(defaults) }));
    let taken = 0;
    for (let n = 0; n < 3000; n++) {
      const { defaults, decode } = pick(decoders);
      const text = event();
      const line = random() < 0.35 ? mangle(Buffer.from(text, 'utf8')) : Buffer.from(text, 'utf8');
      const shown = JSON.stringify(line.toString('latin1'));
      const decoded = decode(line);
      // The old path: the line parsed whole, the defaults, slimObject, the agent's serialisation.
      let old: { type: string; object: KubeObject } | undefined;
      try {
        old = parseWatchLine(line.toString('utf8').trim());
      } catch {
        assert.equal(decoded, undefined, `taken, though not an event: ${shown}`);
        continue;
      }
      if (decoded === undefined) continue;
      assert.ok(old.type === 'ADDED' || old.type === 'MODIFIED' || old.type === 'DELETED', shown);
      assert.equal(decoded.type, old.type, shown);
      const item = decoded.object as unknown as SlimItem;
      assert.ok(item instanceof SlimItem, shown);
      const original = old.object;
      original.kind ??= defaults.kind;
      original.apiVersion ??= defaults.apiVersion;
      try {
        slimObject(original);
      } catch {
        // Annotations that are neither an object nor null ('in' on a string): the old path failed the watch.
        continue;
      }
      taken++;
      const expected = objectJson(original);
      assert.deepEqual(JSON.parse(item.json.body), JSON.parse(expected.body), shown);
      assert.match(item.json.body, /^\{"kind":.*,"apiVersion":.*,"metadata":\{/s, shown);
      assert.equal(item.json.bodyBytes, Buffer.byteLength(item.json.body), shown);
      assert.deepEqual(cut(item), original.metadata, shown);
      assert.deepEqual(item.metadata, original.metadata, shown);
      const meta = original.metadata!;
      assert.deepEqual(
        [item.kind, item.apiVersion, item.namespace, item.name, item.uid, item.resourceVersion],
        [original.kind, original.apiVersion, meta.namespace ?? '', meta.name ?? '', meta.uid ?? '', meta.resourceVersion ?? ''],
        shown,
      );
      // (A key only like `data`, such as "data\/", keeps its value on both paths.)
      if (original.kind === 'Secret' && !/SECRET-VALUE/.test(expected.body)) assert.doesNotMatch(item.json.body, /SECRET-VALUE/, shown);
      assert.doesNotMatch(item.json.body, /LAST-APPLIED/, shown);
    }
    assert.ok(taken > 300, `only ${taken} lines taken`);
  });

  it('writes the resource kind given as a default as UTF-8, and declines numbers JSON.stringify writes otherwise', () => {
    const widgets = { kind: 'Wïdget', apiVersion: 'ëxample.com/v1' };
    const object = { metadata: { name: 'w' } };
    assertSlimmedLike(onlyObject(JSON.stringify({ type: 'ADDED', object }), widgets), object, widgets);
    for (const number of ['1e400', '-1e400', '1' + '0'.repeat(400), '-0', '-0.0', '-0e1', '-1e-400'])
      assert.equal(decodeLine(`{"type":"ADDED","object":{"metadata":{"name":"a"},"spec":{"x":${number}}}}`), undefined, number);
    for (const number of ['0', '1e300', '-1e-300', '0.0', '-0.5', '12345678901234567890'])
      assertSlimmedLike(onlyObject(`{"type":"ADDED","object":{"metadata":{"name":"a"},"spec":{"x":${number}}}}`), {
        metadata: { name: 'a' },
        spec: { x: Number(number) },
      });
  });
});
