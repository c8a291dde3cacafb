import { test } from 'node:test';
import assert from 'node:assert/strict';
import { negotiateAggregatedDiscovery } from './discovery.ts';

const V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
const V2BETA1 = 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';

test("the first media range the sim serves wins, in the client's order", () => {
  assert.equal(negotiateAggregatedDiscovery(`${V2},${V2BETA1},application/json`), 'v2');
  assert.equal(negotiateAggregatedDiscovery(`${V2BETA1}, ${V2}`), 'v2beta1');
  assert.equal(negotiateAggregatedDiscovery(`application/json, ${V2}`), undefined);
  // A version the sim does not serve is skipped, not an error.
  assert.equal(negotiateAggregatedDiscovery(`application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList,${V2}`), 'v2');
});

test('plain JSON, a wildcard, protobuf or no Accept at all get the legacy documents', () => {
  for (const accept of [undefined, '', 'application/json', '*/*', 'application/vnd.kubernetes.protobuf', 'application/json;as=Table;v=v1;g=meta.k8s.io'])
    assert.equal(negotiateAggregatedDiscovery(accept), undefined, String(accept));
});

test('weights come first: q=0 is never served, a heavier range wins over an earlier one', () => {
  assert.equal(negotiateAggregatedDiscovery(`application/json;q=0.9, ${V2}`), 'v2');
  assert.equal(negotiateAggregatedDiscovery(`${V2};q=0, application/json`), undefined);
  assert.equal(negotiateAggregatedDiscovery(`${V2};q=0.5, ${V2BETA1};q=0.8`), 'v2beta1');
  assert.equal(negotiateAggregatedDiscovery('APPLICATION/JSON;g=apidiscovery.k8s.io;v="v2";as=APIGroupDiscoveryList'), 'v2');
});

test('at equal weight a concrete type comes before a wildcard, and a weight that is not a number is 0', () => {
  assert.equal(negotiateAggregatedDiscovery(`*/*, ${V2}`), 'v2');
  assert.equal(negotiateAggregatedDiscovery(`${V2};q=abc, application/json`), undefined);
});
