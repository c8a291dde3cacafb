import assert from 'node:assert/strict';
import { test } from 'node:test';
import { topLevelMemberText } from './json-member.ts';

/** What JSON.parse says the member is: its value re-serialised, null when absent. */
function viaParse(text: string, key: string): string | null {
  const value = (JSON.parse(text) as Record<string, unknown>)[key];
  return value === undefined ? null : JSON.stringify(value);
}

function agrees(text: string, key = 'metadata'): void {
  const member = topLevelMemberText(text, key);
  assert.notEqual(member, undefined, `scan gave up on ${text}`);
  assert.equal(member === null ? null : JSON.stringify(JSON.parse(member!)), viaParse(text, key), text);
}

test('finds a top-level member wherever it sits and whatever surrounds it', () => {
  agrees('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","annotations":{"x":"}{\\"metadata\\":1"}},"data":{"k":"v"}}');
  agrees('{"spec":{"metadata":{"name":"nested"},"list":[1,[2,{"a":"]"}],null,true,false,-1.5e3]},"metadata":{"name":"top"}}');
  agrees(' \n{ "metadata" : { "name" : "spaced" } , "x" : [ ] } \t');
  agrees('{"a":"\\\\","metadata":{"name":"after a backslash"}}');
  agrees('{"a":"\\u0022metadata\\u0022","metadata":{"name":"\\u00e9t\\u00e9"}}');
  agrees('{"metadata":{"name":"first"},"metadata":{"name":"last wins"}}');
  agrees('{"kind":"Pod"}');
  agrees('{}');
  agrees('{"metadata":null}');
  agrees('{"metadata":"a string"}');
  agrees('{"metadata":{"name":"ünïcödé ✓ 🚀"}}');
});

test('gives up (parse the whole text) on what it does not follow', () => {
  for (const text of ['', 'null', '[]', '"x"', '{', '{"metadata":{"name":"a"}', '{"metadata":{"name":"a"}}}', '{"metadata" {"a":1}}', '{"meta\\u0064ata":{"name":"escaped key"}}', '{"a":"unterminated}', '{"a":1,}', '{"a":}', '{"metadata":{}} x']) {
    assert.equal(topLevelMemberText(text, 'metadata'), undefined, text);
  }
});

test('agrees with JSON.parse on generated objects', () => {
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const strings = ['', 'metadata', '"', '\\', '}{', '][', ',', ':', 'é', '\n', 'plain'];
  const value = (depth: number): unknown => {
    const r = random();
    if (depth > 3 || r < 0.3) return strings[Math.floor(random() * strings.length)];
    if (r < 0.4) return Math.floor(random() * 1e6) / 7;
    if (r < 0.5) return [true, false, null][Math.floor(random() * 3)];
    if (r < 0.75) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = Math.floor(random() * 4); i > 0; i--) o[strings[Math.floor(random() * strings.length)]!] = value(depth + 1);
    return o;
  };
  for (let n = 0; n < 500; n++) {
    const object: Record<string, unknown> = {};
    for (let i = Math.floor(random() * 5); i > 0; i--) object[`k${i}`] = value(0);
    if (random() < 0.8) object.metadata = value(0);
    const text = JSON.stringify(object, null, random() < 0.3 ? 2 : undefined);
    agrees(text);
  }
});
