import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanDuration } from './printers.ts';
import { typesFromDefinition } from './custom-resources.ts';
import { BUILTIN_RESOURCES } from './builtin-resources.ts';
import { negotiateFormat, renderTable, watchLineConverter } from './table.ts';
import { StatusError } from './status.ts';

const KUBECTL_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
const query = (q = '') => new URLSearchParams(q);
const builtin = (kind: string) => BUILTIN_RESOURCES.find((t) => t.kind === kind)!;
const NOW = Date.parse('2025-01-01T12:00:00Z');

test('Accept negotiation: kubectl gets a Table, metadata clients PartialObjectMetadata, everyone else the object', () => {
  assert.deepEqual(negotiateFormat(KUBECTL_ACCEPT, query()), { kind: 'table', version: 'v1', includeObject: 'Metadata' });
  assert.deepEqual(negotiateFormat('application/json;as=Table;v=v1beta1;g=meta.k8s.io', query('includeObject=Object')), {
    kind: 'table',
    version: 'v1beta1',
    includeObject: 'Object',
  });
  assert.deepEqual(negotiateFormat('application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1', query()), { kind: 'metadata', version: 'v1' });
  assert.deepEqual(negotiateFormat('application/vnd.kubernetes.protobuf,application/json', query()), { kind: 'object' });
  assert.deepEqual(negotiateFormat('application/json;as=Table;v=v2;g=meta.k8s.io,application/json', query()), { kind: 'object' });
  assert.deepEqual(negotiateFormat(undefined, query()), { kind: 'object' });
  assert.throws(
    () => negotiateFormat(KUBECTL_ACCEPT, query('includeObject=All')),
    (err: unknown) => err instanceof StatusError && err.code === 400,
  );
});

test('ages print like kubectl', () => {
  const s = 1000;
  assert.deepEqual(
    [5 * s, 119 * s, 125 * s, 600 * s, 3 * 3600 * s + 60 * s, 30 * 3600 * s, 50 * 3600 * s, 400 * 86400 * s, 800 * 86400 * s].map(humanDuration),
    ['5s', '119s', '2m5s', '10m', '3h1m', '30h', '2d2h', '400d', '2y70d'],
  );
});

test('built-in printers: deployment columns, wide columns, row objects', () => {
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'prod', creationTimestamp: '2025-01-01T11:55:00Z', resourceVersion: '7' },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      template: {
        spec: {
          containers: [
            { name: 'a', image: 'a:1' },
            { name: 'b', image: 'b:2' },
          ],
        },
      },
    },
    status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
  };
  const table = renderTable(
    builtin('Deployment'),
    [deployment],
    { resourceVersion: '9' },
    { kind: 'table', version: 'v1', includeObject: 'Metadata' },
    false,
    NOW,
  ) as any;
  assert.equal(table.kind, 'Table');
  assert.equal(table.apiVersion, 'meta.k8s.io/v1');
  assert.deepEqual(table.metadata, { resourceVersion: '9' });
  assert.deepEqual(
    table.columnDefinitions.map((c: any) => [c.name, c.priority]),
    [
      ['Name', 0],
      ['Ready', 0],
      ['Up-to-date', 0],
      ['Available', 0],
      ['Age', 0],
      ['Containers', 1],
      ['Images', 1],
      ['Selector', 1],
    ],
  );
  assert.deepEqual(table.rows[0].cells, ['web', '2/3', 3, 2, '5m', 'a,b', 'a:1,b:2', 'app=web']);
  assert.deepEqual(table.rows[0].object, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: deployment.metadata });
});

test('custom resources print their CRD printer columns, with JSONPath filters', () => {
  const [type] = typesFromDefinition({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'dbs.example.com' },
    spec: {
      group: 'example.com',
      scope: 'Namespaced',
      names: { plural: 'dbs', kind: 'Db' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          additionalPrinterColumns: [
            { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
            { name: 'Shards', type: 'integer', jsonPath: '.spec.shards' },
            { name: 'Engine', type: 'string', jsonPath: ".spec['engine']", priority: 1 },
            { name: 'Missing', type: 'string', jsonPath: '.spec.nope' },
            { name: 'Started', type: 'date', jsonPath: '.status.startedAt' },
          ],
        },
      ],
    },
  });
  const db = {
    apiVersion: 'example.com/v1',
    kind: 'Db',
    metadata: { name: 'main', namespace: 'x' },
    spec: { shards: 4, engine: 'pg' },
    status: {
      startedAt: '2025-01-01T11:59:30Z',
      conditions: [
        { type: 'Synced', status: 'False' },
        { type: 'Ready', status: 'True' },
      ],
    },
  };
  const table = renderTable(type!, [db], {}, { kind: 'table', version: 'v1', includeObject: 'None' }, false, NOW) as any;
  assert.deepEqual(
    table.columnDefinitions.map((c: any) => c.name),
    ['Name', 'Ready', 'Shards', 'Engine', 'Missing', 'Started'],
  );
  assert.deepEqual(table.rows[0].cells, ['main', 'True', 4, 'pg', null, '30s']);
  assert.equal(table.rows[0].object, null);

  const [plain] = typesFromDefinition({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'as.example.com' },
    spec: { group: 'example.com', scope: 'Cluster', names: { plural: 'as', kind: 'A' }, versions: [{ name: 'v1', served: true, storage: true }] },
  });
  const defaults = renderTable(
    plain!,
    [{ metadata: { name: 'a1', creationTimestamp: '2025-01-01T11:00:00Z' } }],
    {},
    { kind: 'table', version: 'v1', includeObject: 'Metadata' },
    false,
    NOW,
  ) as any;
  assert.deepEqual(
    defaults.columnDefinitions.map((c: any) => c.name),
    ['Name', 'Age'],
  );
  assert.deepEqual(defaults.rows[0].cells, ['a1', '60m']);
});

test('a Table watch sends column definitions with the first event only and passes bookmarks through', () => {
  const convert = watchLineConverter(builtin('ConfigMap'), { kind: 'table', version: 'v1', includeObject: 'Metadata' })!;
  const line = (type: string, name: string) =>
    `{"type":"${type}","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"${name}","resourceVersion":"3"},"data":{"k":"v"}}}\n`;
  const first = JSON.parse(convert(line('ADDED', 'a')));
  const second = JSON.parse(convert(line('MODIFIED', 'a')));
  assert.equal(first.type, 'ADDED');
  assert.deepEqual(
    first.object.columnDefinitions.map((c: any) => c.name),
    ['Name', 'Data', 'Age'],
  );
  assert.deepEqual(first.object.rows[0].cells.slice(0, 2), ['a', 1]);
  assert.deepEqual(second.object.columnDefinitions, []);
  assert.equal(second.object.metadata.resourceVersion, '3');
  const bookmark = '{"type":"BOOKMARK","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"resourceVersion":"4"}}}\n';
  assert.equal(convert(bookmark), bookmark);
  assert.equal(watchLineConverter(builtin('ConfigMap'), { kind: 'object' }), undefined);
});
