import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesLabels, parseLabelSelector, selectorFromObject } from './label-selector.ts';
import { matchesFields, parseFieldSelector } from './field-selector.ts';
import { StatusError } from './status.ts';

const labels = { app: 'web', tier: 'front', version: '3' };

test('label selector operators', () => {
  const cases: [string, boolean][] = [
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app!=web', false],
    ['app!=db', true],
    ['missing!=x', true],
    ['app in (web,db)', true],
    ['app notin (web)', false],
    ['app', true],
    ['!app', false],
    ['!missing', true],
    ['app=web,tier=front', true],
    ['app=web,tier=back', false],
    ['version>2', true],
    ['version<3', false],
    ['example.com/key=x', false],
  ];
  for (const [selector, expected] of cases) assert.equal(matchesLabels(parseLabelSelector(selector), labels), expected, selector);
});

test('bad label selectors are 400 BadRequest', () => {
  for (const bad of ['app in (web', 'a=b,,c=d', '=x', 'app=bad value', 'k>notanumber']) {
    assert.throws(
      () => parseLabelSelector(bad),
      (err: unknown) => err instanceof StatusError && err.code === 400,
      bad,
    );
  }
});

test('selector objects (matchLabels, matchExpressions)', () => {
  const selector = selectorFromObject({
    matchLabels: { app: 'web' },
    matchExpressions: [
      { key: 'tier', operator: 'In', values: ['front'] },
      { key: 'gone', operator: 'DoesNotExist' },
    ],
  });
  assert.equal(matchesLabels(selector, labels), true);
  assert.equal(matchesLabels(selector, { app: 'web' }), false);
});

test('field selectors', () => {
  const supported = new Set(['metadata.name', 'metadata.namespace', 'status.phase']);
  const fields = { 'metadata.name': 'p1', 'metadata.namespace': 'ns', 'status.phase': 'Running' };
  assert.equal(matchesFields(parseFieldSelector('metadata.name=p1,status.phase!=Pending', supported), fields), true);
  assert.equal(matchesFields(parseFieldSelector('status.phase==Pending', supported), fields), false);
  assert.throws(
    () => parseFieldSelector('spec.nodeName=x', supported),
    (err: unknown) => err instanceof StatusError && err.code === 400,
  );
  assert.throws(
    () => parseFieldSelector('nonsense', supported),
    (err: unknown) => err instanceof StatusError && err.code === 400,
  );
});
