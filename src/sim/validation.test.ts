// What a real API server refuses, the sim refuses the same way: 422 Invalid with one cause per problem
// (reason, field path, message after the path, as k8s.io/apimachinery's field errors word them), 400 for
// a body that does not decode into the kind's type, 404 for a kind the server does not serve. Each
// manifest here is one a real v1.34 API server refuses; the messages are the real server's.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../common/logger.ts';
import type { KubeObject } from '../common/kube-object.ts';
import { SimCluster } from './sim-cluster.ts';
import { startSim } from './sim-server.ts';
import { StatusError, type StatusCause } from './status.ts';

function cluster(): SimCluster {
  return new SimCluster({
    name: 'unit',
    historyLimit: 1000,
    podStartDelayMs: 60_000,
    podTerminationCapMs: 10,
    progressNotifyIntervalMs: 0,
    openApiSchemas: true,
    logger: silentLogger(),
  });
}

type Json = Record<string, any>;

function deployment(patch: (d: Json) => void = () => {}): KubeObject {
  const d: Json = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } },
    },
  };
  patch(d);
  return d as KubeObject;
}

const container = (d: Json): Json => d.spec.template.spec.containers[0];

/** The StatusError creating `object` fails with. */
function refusal(object: KubeObject, c = cluster()): StatusError {
  try {
    c.create(object);
  } catch (err) {
    if (err instanceof StatusError) return err;
    throw err;
  } finally {
    c.close();
  }
  assert.fail(`the sim accepted ${object.kind} ${object.metadata?.name}`);
}

/** Asserts a 422 Invalid whose message is exactly `message` and whose causes are `causes`. */
function assertInvalid(object: KubeObject, message: string, causes: StatusCause[]): void {
  const err = refusal(object);
  assert.equal(err.code, 422, err.message);
  assert.equal(err.reason, 'Invalid');
  assert.equal(err.message, message);
  assert.deepEqual(err.details?.causes, causes);
}

describe('sim validation: workloads and pod templates', () => {
  test('Deployment: selector required, template labels must match it', () => {
    assertInvalid(
      deployment((d) => delete d.spec.selector),
      'Deployment.apps "web" is invalid: spec.selector: Required value',
      [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.selector' }],
    );
    assertInvalid(
      deployment((d) => (d.spec.template.metadata.labels = { app: 'other' })),
      'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`',
      [{ reason: 'FieldValueInvalid', message: 'Invalid value: `selector` does not match template `labels`', field: 'spec.template.metadata.labels' }],
    );
  });

  test('containers need a name and an image; several causes are listed in brackets', () => {
    assertInvalid(
      deployment((d) => (d.spec.template.spec.containers = [{}])),
      'Deployment.apps "web" is invalid: [spec.template.spec.containers[0].name: Required value, spec.template.spec.containers[0].image: Required value]',
      [
        { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.template.spec.containers[0].name' },
        { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.template.spec.containers[0].image' },
      ],
    );
  });

  test('container ports: numbers 1–65535, IANA service names of at most 15 characters', () => {
    assertInvalid(
      deployment((d) => (container(d).ports = [{ containerPort: 70000, name: 'prometheus-metrics' }])),
      'Deployment.apps "web" is invalid: [spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive, spec.template.spec.containers[0].ports[0].name: Invalid value: "prometheus-metrics": must be no more than 15 characters]',
      [
        {
          reason: 'FieldValueInvalid',
          message: 'Invalid value: 70000: must be between 1 and 65535, inclusive',
          field: 'spec.template.spec.containers[0].ports[0].containerPort',
        },
        {
          reason: 'FieldValueInvalid',
          message: 'Invalid value: "prometheus-metrics": must be no more than 15 characters',
          field: 'spec.template.spec.containers[0].ports[0].name',
        },
      ],
    );
  });

  test('a volume mount names a volume of the pod; a volume has exactly one source and a valid mode', () => {
    assertInvalid(
      deployment((d) => {
        container(d).volumeMounts = [{ name: 'config', mountPath: '/etc/app' }];
        d.spec.template.spec.volumes = [{ name: 'tls', secret: { secretName: 'tls', defaultMode: 644 } }, { name: 'empty' }];
      }),
      'Deployment.apps "web" is invalid: [spec.template.spec.volumes[0].secret.defaultMode: Invalid value: 644: must be a number between 0 and 0777 (octal), both inclusive, spec.template.spec.volumes[1]: Required value: must specify a volume type, spec.template.spec.containers[0].volumeMounts[0].name: Not found: "config"]',
      [
        {
          reason: 'FieldValueInvalid',
          message: 'Invalid value: 644: must be a number between 0 and 0777 (octal), both inclusive',
          field: 'spec.template.spec.volumes[0].secret.defaultMode',
        },
        { reason: 'FieldValueRequired', message: 'Required value: must specify a volume type', field: 'spec.template.spec.volumes[1]' },
        { reason: 'FieldValueNotFound', message: 'Not found: "config"', field: 'spec.template.spec.containers[0].volumeMounts[0].name' },
      ],
    );
  });

  test('probes need one handler; resources requests may not exceed limits', () => {
    assertInvalid(
      deployment((d) => {
        container(d).livenessProbe = { periodSeconds: 10 };
        container(d).resources = { requests: { cpu: '2' }, limits: { cpu: '1' } };
      }),
      'Deployment.apps "web" is invalid: [spec.template.spec.containers[0].livenessProbe: Required value: must specify a handler type, spec.template.spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1]',
      [
        { reason: 'FieldValueRequired', message: 'Required value: must specify a handler type', field: 'spec.template.spec.containers[0].livenessProbe' },
        {
          reason: 'FieldValueInvalid',
          message: 'Invalid value: "2": must be less than or equal to cpu limit of 1',
          field: 'spec.template.spec.containers[0].resources.requests',
        },
      ],
    );
  });

  test('a Recreate Deployment may not carry rollingUpdate', () => {
    assertInvalid(
      deployment((d) => (d.spec.strategy = { type: 'Recreate', rollingUpdate: { maxSurge: 1 } })),
      'Deployment.apps "web" is invalid: spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is \'Recreate\'',
      [{ reason: 'FieldValueForbidden', message: "Forbidden: may not be specified when strategy `type` is 'Recreate'", field: 'spec.strategy.rollingUpdate' }],
    );
  });

  test('a surge may exceed 100%; what may be unavailable may not', () => {
    const c = cluster();
    try {
      c.create(deployment((d) => (d.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: '200%', maxUnavailable: '100%' } })));
    } finally {
      c.close();
    }
    assertInvalid(
      deployment((d) => (d.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '150%' } })),
      'Deployment.apps "web" is invalid: spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be greater than 100%',
      [{ reason: 'FieldValueInvalid', message: 'Invalid value: "150%": must not be greater than 100%', field: 'spec.strategy.rollingUpdate.maxUnavailable' }],
    );
  });

  test('a value that does not decode into the Go type is a 400, before validation', () => {
    const quoted = refusal(deployment((d) => (container(d).ports = [{ containerPort: '8080' }])));
    assert.equal(quoted.code, 400);
    assert.equal(quoted.reason, 'BadRequest');
    assert.equal(
      quoted.message,
      'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field ContainerPort.spec.template.spec.containers.ports.containerPort of type int32',
    );
    const quantity = refusal(deployment((d) => (container(d).resources = { limits: { memory: '256MB' } })));
    assert.equal(quantity.code, 400);
    assert.equal(
      quantity.message,
      'Deployment in version "v1" cannot be handled as a Deployment: quantities must match the regular expression \'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$\'',
    );
  });
});

describe('sim validation: Services, ConfigMaps, names', () => {
  const service = (spec: Json, name = 'web'): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec });

  test('Service ports: 1–65535, named when there are several, a supported protocol', () => {
    assertInvalid(
      service({ ports: [{ port: 0 }, { port: 9091, protocol: 'HTTP' }] }),
      'Service "web" is invalid: [spec.ports[0].name: Required value, spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive, spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive, spec.ports[1].name: Required value, spec.ports[1].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"]',
      [
        { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.ports[0].name' },
        { reason: 'FieldValueInvalid', message: 'Invalid value: 0: must be between 1 and 65535, inclusive', field: 'spec.ports[0].port' },
        // The target port defaults to the port, and is checked too.
        { reason: 'FieldValueInvalid', message: 'Invalid value: 0: must be between 1 and 65535, inclusive', field: 'spec.ports[0].targetPort' },
        { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.ports[1].name' },
        { reason: 'FieldValueNotSupported', message: 'Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"', field: 'spec.ports[1].protocol' },
      ],
    );
    assertInvalid(service({}), 'Service "web" is invalid: spec.ports: Required value', [
      { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.ports' },
    ]);
  });

  test('metadata.name follows the rule of the kind: DNS-1035 label (Service), DNS-1123 label (Namespace), subdomain, path segment (RBAC)', () => {
    const dns1035 =
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
    assertInvalid(service({ ports: [{ port: 80 }] }, '7web'), `Service "7web" is invalid: metadata.name: Invalid value: "7web": ${dns1035}`, [
      { reason: 'FieldValueInvalid', message: `Invalid value: "7web": ${dns1035}`, field: 'metadata.name' },
    ]);
    assert.equal(refusal({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team.a' } }).details?.causes?.[0]?.field, 'metadata.name');
    assert.equal(refusal({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'My_Config', namespace: 'default' } }).code, 422);
    assert.equal(refusal({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'team/a' }, rules: [] }).code, 422);
    const c = cluster();
    c.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'system:scale-agent' }, rules: [] });
    c.close();
  });

  test('ConfigMap data keys must be valid file names', () => {
    const problem =
      "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
    assertInvalid(
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config', namespace: 'default' }, data: { 'conf/agent.yaml': 'x' } },
      `ConfigMap "config" is invalid: data[conf/agent.yaml]: Invalid value: "conf/agent.yaml": ${problem}`,
      [{ reason: 'FieldValueInvalid', message: `Invalid value: "conf/agent.yaml": ${problem}`, field: 'data[conf/agent.yaml]' }],
    );
  });
});

describe('sim validation: RBAC and PodDisruptionBudgets', () => {
  const rbac = 'rbac.authorization.k8s.io/v1';

  test('every rule needs verbs, API groups and resources', () => {
    assertInvalid(
      { apiVersion: rbac, kind: 'ClusterRole', metadata: { name: 'agent' }, rules: [{ resources: ['pods'] }] },
      'ClusterRole.rbac.authorization.k8s.io "agent" is invalid: [rules[0].verbs: Required value: verbs must contain at least one value, rules[0].apiGroups: Required value: resource rules must supply at least one api group]',
      [
        { reason: 'FieldValueRequired', message: 'Required value: verbs must contain at least one value', field: 'rules[0].verbs' },
        { reason: 'FieldValueRequired', message: 'Required value: resource rules must supply at least one api group', field: 'rules[0].apiGroups' },
      ],
    );
  });

  test('a binding needs a roleRef, and a ClusterRoleBinding a namespace for each ServiceAccount', () => {
    assertInvalid(
      { apiVersion: rbac, kind: 'RoleBinding', metadata: { name: 'agent', namespace: 'default' }, subjects: [{ kind: 'ServiceAccount', name: 'agent' }] },
      'RoleBinding.rbac.authorization.k8s.io "agent" is invalid: [roleRef.apiGroup: Unsupported value: "": supported values: "rbac.authorization.k8s.io", roleRef.kind: Unsupported value: "": supported values: "Role", "ClusterRole", roleRef.name: Required value]',
      [
        { reason: 'FieldValueNotSupported', message: 'Unsupported value: "": supported values: "rbac.authorization.k8s.io"', field: 'roleRef.apiGroup' },
        { reason: 'FieldValueNotSupported', message: 'Unsupported value: "": supported values: "Role", "ClusterRole"', field: 'roleRef.kind' },
        { reason: 'FieldValueRequired', message: 'Required value', field: 'roleRef.name' },
      ],
    );
    assertInvalid(
      {
        apiVersion: rbac,
        kind: 'ClusterRoleBinding',
        metadata: { name: 'agent' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'agent' },
        subjects: [{ kind: 'ServiceAccount', name: 'agent' }],
      },
      'ClusterRoleBinding.rbac.authorization.k8s.io "agent" is invalid: subjects[0].namespace: Required value',
      [{ reason: 'FieldValueRequired', message: 'Required value', field: 'subjects[0].namespace' }],
    );
  });

  test("a binding's roleRef cannot change", () => {
    const c = cluster();
    const binding = (role: string): KubeObject => ({
      apiVersion: rbac,
      kind: 'RoleBinding',
      metadata: { name: 'agent', namespace: 'default' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role },
      subjects: [{ kind: 'ServiceAccount', name: 'agent', namespace: 'default' }],
    });
    c.create(binding('reader'));
    assert.throws(
      () => c.update(binding('writer')),
      (e) =>
        e instanceof StatusError &&
        e.code === 422 &&
        e.message ===
          'RoleBinding.rbac.authorization.k8s.io "agent" is invalid: roleRef: Invalid value: {"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"writer"}: cannot change roleRef' &&
        e.details?.causes?.[0]?.field === 'roleRef',
    );
    c.update({ ...binding('reader'), subjects: [] });
    c.close();
  });

  test('a PodDisruptionBudget sets minAvailable or maxUnavailable, not both', () => {
    const pdb = (spec: Json): KubeObject => ({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'hub', namespace: 'default' }, spec });
    const both = refusal(pdb({ minAvailable: 1, maxUnavailable: 1, selector: { matchLabels: { app: 'hub' } } }));
    assert.equal(both.code, 422);
    assert.deepEqual(
      both.details?.causes?.map((c) => [c.reason, c.field]),
      [['FieldValueInvalid', 'spec']],
    );
    assert.match(both.message, /^PodDisruptionBudget\.policy "hub" is invalid: spec: Invalid value: .*: minAvailable and maxUnavailable cannot be both set$/);
    assertInvalid(
      pdb({ maxUnavailable: '150%' }),
      'PodDisruptionBudget.policy "hub" is invalid: spec.maxUnavailable: Invalid value: "150%": must not be greater than 100%',
      [{ reason: 'FieldValueInvalid', message: 'Invalid value: "150%": must not be greater than 100%', field: 'spec.maxUnavailable' }],
    );
    const c = cluster();
    c.create(pdb({ minAvailable: 1, selector: { matchLabels: { app: 'hub' } } }));
    c.close();
  });
});

describe('sim dry run (dryRun=All)', () => {
  test('create, patch and server-side apply answer as if stored, and store nothing, bump nothing, send no event', () => {
    const c = cluster();
    const type = c.typeOf('v1', 'ConfigMap');
    const events: string[] = [];
    c.store.watches.add({ resource: '/configmaps', deliver: (e) => events.push(`${e.type} ${e.object.name}`), close: () => {} });
    const before = c.resourceVersion;
    const created = c.api.create(type, 'default', { metadata: { name: 'dry' }, data: { a: '1' } }, { dryRun: true });
    assert.equal(created.metadata?.name, 'dry');
    assert.ok(created.metadata?.uid);
    assert.ok(created.metadata?.creationTimestamp);
    assert.equal(created.metadata?.resourceVersion, undefined);
    const applied = c.api.patch(
      type,
      'default',
      'dry-apply',
      'apply',
      { apiVersion: 'v1', kind: 'ConfigMap', data: { a: '1' } },
      { dryRun: true, fieldManager: 'ci' },
    );
    assert.equal(applied.created, true);
    assert.equal((applied.object.metadata?.managedFields as Json[] | undefined)?.[0]?.manager, 'ci');
    assert.equal(c.get('v1', 'ConfigMap', 'default', 'dry'), undefined);
    assert.equal(c.get('v1', 'ConfigMap', 'default', 'dry-apply'), undefined);
    assert.equal(c.resourceVersion, before);

    const stored = c.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'live', namespace: 'default' }, data: { a: '1' } });
    const afterCreate = c.resourceVersion;
    const patched = c.api.patch(type, 'default', 'live', 'merge', { data: { a: '2' } }, { dryRun: true });
    assert.equal((patched.object.data as Json).a, '2');
    assert.equal(patched.object.metadata?.resourceVersion, stored.metadata?.resourceVersion);
    assert.equal((c.get('v1', 'ConfigMap', 'default', 'live')!.data as Json).a, '1');
    assert.equal(c.resourceVersion, afterCreate);
    assert.deepEqual(events, ['ADDED live']);
    c.close();
  });

  test('a dry run is validated like a real write', () => {
    const c = cluster();
    const type = c.typeOf('apps/v1', 'Deployment');
    assert.throws(
      () =>
        c.api.create(
          type,
          'default',
          deployment((d) => delete d.spec.selector),
          { dryRun: true },
        ),
      (e) => e instanceof StatusError && e.code === 422,
    );
    c.close();
  });
});

describe('sim: kinds it does not serve', () => {
  test('an unknown group, version or kind is a 404 NotFound Status, as on a real server before the CRD exists', async () => {
    const sim = await startSim({ port: 0, clusters: ['u'], tls: false, token: 't' });
    try {
      const post = async (path: string) => {
        const res = await fetch(`${sim.url}/clusters/u${path}`, {
          method: 'POST',
          headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
          body: JSON.stringify({ apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'hub' } }),
        });
        return { status: res.status, body: (await res.json()) as Json };
      };
      for (const path of [
        '/apis/monitoring.coreos.com/v1/namespaces/default/servicemonitors',
        '/apis/apps/v9/namespaces/default/deployments',
        '/apis/apps/v1/namespaces/default/widgets',
      ]) {
        const { status, body } = await post(path);
        assert.equal(status, 404, path);
        assert.equal(body.kind, 'Status');
        assert.equal(body.reason, 'NotFound');
        assert.match(body.message, /^the server could not find the requested resource/);
      }
    } finally {
      await sim.close();
    }
  });
});
