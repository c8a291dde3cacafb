import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planApply } from './client-side-apply.ts';
import { acceptsStrategicMergePatch, openApiPatchSchema, pruneOpenApiDocument } from './openapi-patch-schema.ts';
import { PatchSchemaError } from './patch-meta.ts';

const APPS = { group: 'apps', version: 'v1', kind: 'Deployment' };
const ref = (name: string) => ({ allOf: [{ $ref: `#/components/schemas/${name}` }], default: {}, description: 'long text a cluster sends' });

/** A group-version document shaped as a real API server's, with tags that differ from the built-in types where noted. */
function document(patchTypes: string[]) {
  return {
    openapi: '3.0.0',
    paths: {
      '/apis/apps/v1/namespaces/{namespace}/deployments/{name}': {
        get: { description: 'read' },
        patch: {
          'x-kubernetes-group-version-kind': APPS,
          requestBody: { content: Object.fromEntries(patchTypes.map((t) => [t, { schema: { description: 'x' } }])) },
        },
      },
    },
    components: {
      schemas: {
        'io.k8s.api.apps.v1.Deployment': {
          description: 'A Deployment',
          properties: {
            apiVersion: { type: 'string' },
            kind: { type: 'string' },
            metadata: ref('meta.ObjectMeta'),
            spec: ref('io.k8s.api.apps.v1.DeploymentSpec'),
          },
          'x-kubernetes-group-version-kind': [APPS],
        },
        'meta.ObjectMeta': {
          properties: { name: { type: 'string' }, labels: { type: 'object', additionalProperties: { type: 'string' } }, annotations: { type: 'object' } },
        },
        'io.k8s.api.apps.v1.DeploymentSpec': { properties: { replicas: { type: 'integer' }, template: ref('PodTemplateSpec') } },
        PodTemplateSpec: { properties: { spec: ref('PodSpec') } },
        PodSpec: {
          properties: {
            // Merged by `image` here (the built-in types say `name`): the cluster's word wins.
            containers: { type: 'array', items: ref('Container'), 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-patch-merge-key': 'image' },
          },
        },
        Container: { properties: { name: { type: 'string' }, image: { type: 'string' }, args: { type: 'array', items: { type: 'string' } } } },
      },
    },
  };
}

const SMP = 'application/strategic-merge-patch+json';

describe('patch metadata from OpenAPI v3', () => {
  test('pruning keeps what patch metadata reads and drops descriptions and other operations', () => {
    const pruned = pruneOpenApiDocument(document([SMP]));
    assert.equal(JSON.stringify(pruned).includes('long text'), false);
    assert.equal(JSON.stringify(pruned).includes('"get"'), false);
    assert.ok(acceptsStrategicMergePatch(pruned, APPS));
    assert.equal(acceptsStrategicMergePatch(pruneOpenApiDocument(document(['application/merge-patch+json'])), APPS), false);
    assert.equal(acceptsStrategicMergePatch(pruned, { ...APPS, version: 'v2' }), false);
  });

  test('lookups follow allOf and $ref to the field tags; an unlisted field cannot be looked up', () => {
    const schema = openApiPatchSchema(pruneOpenApiDocument(document([SMP])), APPS)!;
    const spec = schema.lookupStruct('spec').schema;
    const podSpec = spec.lookupStruct('template').schema.lookupStruct('spec').schema;
    const containers = podSpec.lookupSlice('containers');
    assert.deepEqual(containers.meta, { strategies: ['merge'], mergeKey: 'image' });
    assert.deepEqual(containers.schema.lookupSlice('args').meta, { strategies: [], mergeKey: '' });
    assert.throws(() => podSpec.lookupSlice('initContainers'), PatchSchemaError);
    assert.equal(openApiPatchSchema(pruneOpenApiDocument(document([SMP])), { ...APPS, kind: 'StatefulSet' }), undefined);
  });

  test("planApply takes the cluster's metadata, and falls back to the built-in types where it has none", () => {
    const manifest = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 1,
        template: {
          spec: {
            containers: [
              { name: 'a', image: 'one' },
              { name: 'b', image: 'two' },
            ],
          },
        },
      },
    };
    const created = planApply(manifest, undefined, APPS);
    assert.ok(created.action === 'create');
    const live = created.body;
    const renamed = {
      ...manifest,
      spec: {
        ...manifest.spec,
        template: {
          spec: {
            containers: [
              { name: 'renamed', image: 'one' },
              { name: 'b', image: 'two' },
            ],
          },
        },
      },
    };
    const withOpenApi = planApply(renamed, live, { ...APPS, openApi: pruneOpenApiDocument(document([SMP])) });
    assert.ok(withOpenApi.action === 'patch' && withOpenApi.metadata === 'openapi' && withOpenApi.patchType === 'strategic');
    // Keyed by image, the first container is the same element with a new name.
    assert.deepEqual((withOpenApi.patch.spec as any).template.spec.containers, [{ image: 'one', name: 'renamed' }]);
    const builtin = planApply(renamed, live, APPS);
    assert.ok(builtin.action === 'patch' && builtin.metadata === 'builtin');
    assert.notDeepEqual(builtin.patch, withOpenApi.patch);
    // The cluster does not take strategic merge patches for the kind (or its schema lacks a changed field): built-in types.
    assert.ok(planApply(renamed, live, { ...APPS, openApi: pruneOpenApiDocument(document(['application/merge-patch+json'])) }).action === 'patch');
    const withInit = { ...renamed, spec: { ...renamed.spec, template: { spec: { ...renamed.spec.template.spec, initContainers: [{ name: 'i' }] } } } };
    const liveWithInit = {
      ...live,
      spec: { ...(live.spec as object), template: { spec: { ...(live.spec as any).template.spec, initContainers: [{ name: 'j' }] } } },
    };
    const fellBack = planApply(withInit, liveWithInit, { ...APPS, openApi: pruneOpenApiDocument(document([SMP])) });
    assert.ok(fellBack.action === 'patch' && fellBack.metadata === 'builtin');
  });
});
