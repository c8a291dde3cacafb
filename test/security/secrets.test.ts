/**
 * Secrets end to end: values planted in a Secret's data, stringData and last-applied annotation (and a
 * rotation of them), referenced from a Pod's and a Deployment's env, must appear — plain, base64,
 * base64url or URL-encoded — in no gRPC frame (either direction, every message reassembled from the
 * HTTP/2 streams), no row of the hub's database (SQLite file and WAL; PostgreSQL and MariaDB rows), no
 * response of any read endpoint for the account, no log line of any process (at debug level), and no
 * metric of the hub or the agent. Each check first proves it is not vacuous: the Secret and the Pod did
 * arrive, in that place.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { createConnection } from 'mysql2/promise';
import { waitFor } from '../../src/common/time.ts';
import { mysqlServer, postgresServer, type Server } from '../support/database-servers.ts';
import { engineSkip, type EngineName } from '../support/databases.ts';
import { TestSystem, simRequest } from '../support/system.ts';
import { grpcMessages, headerBlock, isHeaders, parseHttp2 } from './fuzz-frames.ts';

const PROPAGATION_TIMEOUT_MS = 30_000;
const ACCOUNT = 'cluster-1';
const APP = 'secretapp';
const SECRET = 'planted-secret';
const POD = 'secret-consumer';
const DEPLOYMENT = 'secret-web';

/** A value unlike anything else in the system, with characters that make its encodings differ from it. */
function plant(label: string): string {
  return `${label}/${randomBytes(9).toString('hex')}+${randomBytes(6).toString('hex')}=?&# ~x`;
}

/** Every form a value could take on its way through: plain, base64 (padded or not), base64url, URL- and JSON-encoded. */
function forms(value: string): string[] {
  const base64 = Buffer.from(value).toString('base64');
  return [
    ...new Set([
      value,
      base64,
      base64.replace(/=+$/, ''),
      Buffer.from(value).toString('base64url'),
      encodeURIComponent(value),
      new URLSearchParams({ v: value }).toString().slice(2),
      JSON.stringify(value).slice(1, -1),
    ]),
  ];
}

interface Planted {
  password: string;
  token: string;
  annotationOnly: string;
  rotated: string;
}

function secretManifest(p: Planted) {
  const applied = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: SECRET, namespace: 'default' },
    data: { password: Buffer.from(p.password).toString('base64') },
    stringData: { token: p.token, apiKey: p.annotationOnly },
  };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: SECRET,
      namespace: 'default',
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(applied), 'moniker.spinnaker.io/application': APP },
    },
    type: 'Opaque',
    data: { password: Buffer.from(p.password).toString('base64') },
    stringData: { token: p.token },
  };
}

/** A pod spec that uses the Secret only by reference, every way Kubernetes allows. */
function consumerSpec() {
  return {
    containers: [
      {
        name: 'app',
        image: 'nginx:1.27',
        env: [
          { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: SECRET, key: 'password' } } },
          { name: 'TOKEN', valueFrom: { secretKeyRef: { name: SECRET, key: 'token', optional: false } } },
        ],
        envFrom: [{ secretRef: { name: SECRET } }],
        volumeMounts: [{ name: 'creds', mountPath: '/creds', readOnly: true }],
      },
    ],
    volumes: [{ name: 'creds', secret: { secretName: SECRET } }],
  };
}

function podManifest() {
  const manifest = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: POD, namespace: 'default', annotations: { 'moniker.spinnaker.io/application': APP } },
    spec: consumerSpec(),
  };
  return {
    ...manifest,
    metadata: {
      ...manifest.metadata,
      annotations: { ...manifest.metadata.annotations, 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(manifest) },
    },
  };
}

function deploymentManifest() {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: DEPLOYMENT,
      namespace: 'default',
      annotations: { 'moniker.spinnaker.io/application': APP, 'moniker.spinnaker.io/cluster': `deployment ${DEPLOYMENT}` },
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: DEPLOYMENT } },
      template: { metadata: { labels: { app: DEPLOYMENT }, annotations: { 'moniker.spinnaker.io/application': APP } }, spec: consumerSpec() },
    },
  };
}

function findNeedles(haystack: Buffer | string, needles: readonly string[]): string[] {
  return needles.filter((n) => haystack.includes(n));
}

/** Every table's rows of a PostgreSQL or MySQL database, as text. */
async function dumpDatabase(engine: EngineName, url: string): Promise<string> {
  const parts: string[] = [];
  if (engine === 'postgres') {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const tables = await client.query<{ table_name: string }>(
        `select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`,
      );
      for (const { table_name } of tables.rows) {
        const rows = await client.query(`select * from "${table_name.replaceAll('"', '""')}"`);
        parts.push(`${table_name}: ${JSON.stringify(rows.rows, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
      }
    } finally {
      await client.end();
    }
  } else {
    const parsed = new URL(url);
    const connection = await createConnection({
      host: parsed.hostname,
      port: Number(parsed.port || 3306),
      user: decodeURIComponent(parsed.username),
      password: decodeURIComponent(parsed.password),
      database: parsed.pathname.slice(1),
    });
    try {
      const [tables] = await connection.query(
        `select table_name as name from information_schema.tables where table_schema = database() and table_type = 'BASE TABLE'`,
      );
      for (const { name } of tables as Array<{ name: string }>) {
        const [rows] = await connection.query(`select * from \`${name.replaceAll('`', '``')}\``);
        // Binary columns come back as Buffers: keep their bytes as text.
        parts.push(
          `${name}: ${JSON.stringify(rows, (_k, v) => (v && v.type === 'Buffer' && Array.isArray(v.data) ? Buffer.from(v.data).toString('utf8') : v))}`,
        );
      }
    } finally {
      await connection.end();
    }
  }
  return parts.join('\n');
}

for (const engine of ['sqlite', 'postgres', 'mysql'] as const) {
  describe(`secret values leak nowhere [${engine}]`, { timeout: 300_000, skip: engineSkip(engine) }, () => {
    const planted: Planted = { password: plant('pw'), token: plant('tok'), annotationOnly: plant('ann'), rotated: plant('rot') };
    const needles = Object.values(planted).flatMap(forms);
    // A control: the same kind of value in a ConfigMap, which is not secret and must be found everywhere
    // the searches below look. It proves each search can see a value where one would leak.
    const canary = plant('canary');
    let server: Server | undefined;
    let databaseUrl: string | undefined;
    let system: TestSystem;

    before(async () => {
      if (engine !== 'sqlite') {
        server = engine === 'postgres' ? await postgresServer() : await mysqlServer();
        databaseUrl = await server.create();
      }
      system = await new TestSystem({
        clusters: 1,
        recordAgentTraffic: true,
        logLevel: 'debug',
        hub: { logging: { level: 'debug' } },
        agent: { logging: { level: 'debug' } },
        ...(databaseUrl ? { database: databaseUrl } : {}),
      }).start();

      const sim = system.sim(ACCOUNT);
      for (const [path, body] of [
        ['/api/v1/namespaces/default/secrets', secretManifest(planted)],
        ['/api/v1/namespaces/default/pods', podManifest()],
        ['/apis/apps/v1/namespaces/default/deployments', deploymentManifest()],
        [
          '/api/v1/namespaces/default/configmaps',
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'canary', namespace: 'default', annotations: { 'moniker.spinnaker.io/application': APP } },
            data: { value: canary },
          },
        ],
      ] as const) {
        const created = await simRequest(sim, 'POST', path, body);
        assert.equal(created.status, 201, `${path}: ${JSON.stringify(created.body)}`);
      }
      // Rotate: a new value arrives through stringData on an update, so the update path is covered too.
      const rotated = await simRequest(
        sim,
        'PATCH',
        `/api/v1/namespaces/default/secrets/${SECRET}`,
        { stringData: { rotated: planted.rotated } },
        'application/merge-patch+json',
      );
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
      const version = rotated.body.metadata.resourceVersion as string;
      const stored = JSON.stringify(rotated.body);
      assert.ok(
        forms(planted.rotated).some((f) => stored.includes(f)),
        'the cluster holds the rotated value (so there was something to leak)',
      );

      // Everything has arrived at the hub: the rotated Secret, the Pod, the Deployment's ReplicaSet and pod.
      await waitFor(
        async () => {
          const secret = await system.rest(`/manifests/${ACCOUNT}/default/secret%20${SECRET}`);
          const pod = await system.rest(`/manifests/${ACCOUNT}/default/pod%20${POD}`);
          const groups = await system.rest(`/applications/${APP}/serverGroups`);
          return secret.status === 200 &&
            secret.body.manifest.metadata.resourceVersion === version &&
            pod.status === 200 &&
            Array.isArray(groups.body) &&
            groups.body.length > 0
            ? true
            : undefined;
        },
        { timeoutMs: PROPAGATION_TIMEOUT_MS, what: 'the Secret, the Pod and the Deployment at the hub' },
      );

      // A WRITE user's JSON patches that would read the values out of data/stringData: copy and move them
      // into annotations and labels (which the agent streams), test a guess. Each is refused at once; the
      // checks below then prove no value reached a frame, a row or a response through them either.
      const attacks = [
        [{ op: 'copy', from: '/data/password', path: '/metadata/annotations/leak' }],
        [{ op: 'move', from: '/data/token', path: '/metadata/labels/leak' }],
        [{ op: 'copy', from: '', path: '/metadata/annotations/everything' }],
        [{ op: 'test', path: '/data/password', value: Buffer.from(planted.password).toString('base64') }],
      ];
      for (const patchBody of attacks) {
        const refused = await system.rest('/kubernetes/ops', {
          method: 'POST',
          body: [{ patchManifest: { account: ACCOUNT, manifestName: `secret ${SECRET}`, location: 'default', options: { mergeStrategy: 'json' }, patchBody } }],
        });
        assert.equal(refused.status, 403, `${JSON.stringify(patchBody)}: ${JSON.stringify(refused.body)}`);
        assert.equal(refused.body.code ?? refused.body.details?.code, 'SECRET_VALUES_PROTECTED', JSON.stringify(refused.body));
      }
      const untouched = await simRequest(sim, 'GET', `/api/v1/namespaces/default/secrets/${SECRET}`);
      assert.equal(untouched.body.metadata.resourceVersion, version, 'no attack reached the cluster');
    });

    after(async () => {
      await system?.stop();
      if (server && databaseUrl) await server.drop(databaseUrl);
      await server?.close();
    });

    test('no gRPC frame, in either direction, carries a secret value', () => {
      const relay = system.relay!;
      let agentMessages = 0;
      const seen = { secret: false, pod: false, reference: false };
      for (const connection of relay.connections) {
        for (const [direction, chunks] of [
          ['agent→hub', connection.fromAgent],
          ['hub→agent', connection.fromHub],
        ] as const) {
          const bytes = Buffer.concat(chunks);
          assert.deepEqual(findNeedles(bytes, needles), [], `${direction} raw bytes`);
          const { frames } = parseHttp2(bytes);
          for (const frame of frames.filter(isHeaders)) assert.deepEqual(findNeedles(headerBlock(frame), needles), [], `${direction} HEADERS`);
          const { messages } = grpcMessages(frames);
          for (const message of messages) {
            assert.equal(message.compressed, false, 'messages travel uncompressed, so this search sees their content');
            assert.deepEqual(findNeedles(message.payload, needles), [], `${direction} gRPC message on stream ${message.streamId}`);
            if (direction === 'agent→hub') {
              agentMessages++;
              if (message.payload.includes(`"name":"${SECRET}"`)) seen.secret = true;
              if (message.payload.includes(`"name":"${POD}"`)) seen.pod = true;
              if (message.payload.includes('"secretKeyRef"')) seen.reference = true;
            }
          }
        }
      }
      assert.ok(agentMessages > 0, 'the relay saw gRPC messages');
      const toHub = relay.connections.flatMap((c) => grpcMessages(parseHttp2(Buffer.concat(c.fromAgent)).frames).messages);
      assert.ok(
        toHub.some((m) => m.payload.includes(canary)),
        'the control value is found in a gRPC message',
      );
      assert.deepEqual(seen, { secret: true, pod: true, reference: true }, 'the Secret and the Pod (with its reference) did cross the wire');
    });

    test('no database row carries a secret value', async () => {
      if (engine === 'sqlite') {
        const files = [system.dbPath, `${system.dbPath}-wal`].filter((f) => existsSync(f));
        const all = Buffer.concat(files.map((f) => readFileSync(f)));
        assert.ok(all.includes(`"name":"${SECRET}"`) && all.includes('secretKeyRef'), 'the database file holds the Secret and the Pod');
        assert.ok(all.includes(canary), 'the control value is found in the database file');
        for (const file of files) assert.deepEqual(findNeedles(readFileSync(file), needles), [], file);
      } else {
        const dump = await dumpDatabase(engine, databaseUrl!);
        assert.ok(dump.includes(`"name":"${SECRET}"`) && dump.includes('secretKeyRef'), 'the database holds the Secret and the Pod');
        assert.ok(dump.includes(JSON.stringify(canary).slice(1, -1)), 'the control value is found in the rows');
        assert.deepEqual(findNeedles(dump, needles), [], `${engine} rows`);
      }
    });

    test('no read endpoint serves a secret value', async () => {
      const paths = new Set<string>([
        '/credentials',
        '/credentials?expand=true',
        `/credentials/${ACCOUNT}`,
        '/applications',
        `/applications/${APP}`,
        `/applications/${APP}/clusters`,
        `/applications/${APP}/clusters/${ACCOUNT}`,
        `/applications/${APP}/serverGroups`,
        `/applications/${APP}/serverGroups?expand=true`,
        `/serverGroups?applications=${APP}`,
        `/applications/${APP}/serverGroupManagers`,
        `/applications/${APP}/loadBalancers`,
        `/applications/${APP}/rawResources`,
        `/manifests/${ACCOUNT}/default/secret%20${SECRET}`,
        `/manifests/${ACCOUNT}/default/secret%20${SECRET}?includeEvents=false`,
        `/manifests/${ACCOUNT}/default/pod%20${POD}`,
        `/manifests/${ACCOUNT}/default/deployment%20${DEPLOYMENT}`,
        `/manifests/${ACCOUNT}/default/configMap%20canary`,
        `/manifests/${ACCOUNT}/default/secret/cluster/${APP}/secret%20${SECRET}`,
        `/instances/${ACCOUNT}/default/pod%20${POD}`,
        `/instances/${ACCOUNT}/default/pod%20${POD}/console`,
        '/securityGroups',
        '/task',
        '/admin/operations',
        '/features/stages',
      ]);
      for (const type of [
        'secret',
        'pod',
        'deployment',
        'replicaSet',
        'configs',
        'instances',
        'serverGroups',
        'serverGroupManagers',
        'applications',
        'clusters',
      ]) {
        for (const q of [SECRET, POD, APP, 'default']) paths.add(`/search?q=${encodeURIComponent(q)}&type=${type}`);
      }
      const responses: Array<{ path: string; status: number; text: string }> = [];
      const get = async (path: string) => {
        const res = await fetch(system.restUrl + path);
        const text = await res.text();
        responses.push({ path, status: res.status, text });
        return { status: res.status, text };
      };
      for (const path of paths) await get(path);
      // Follow the views to every cluster, server group and instance they name.
      const clusters = JSON.parse(responses.find((r) => r.path === `/applications/${APP}/clusters`)!.text)[ACCOUNT] as string[];
      for (const cluster of clusters) {
        const c = encodeURIComponent(cluster);
        await get(`/applications/${APP}/clusters/${ACCOUNT}/${c}`);
        await get(`/applications/${APP}/clusters/${ACCOUNT}/${c}/kubernetes`);
        await get(`/applications/${APP}/clusters/${ACCOUNT}/${c}/kubernetes/serverGroups`);
      }
      for (const sg of JSON.parse(responses.find((r) => r.path === `/applications/${APP}/serverGroups`)!.text) as Array<{ name: string; region: string }>) {
        await get(`/serverGroups/${ACCOUNT}/${sg.region}/${encodeURIComponent(sg.name)}`);
        await get(`/applications/${APP}/serverGroups/${ACCOUNT}/${sg.region}/${encodeURIComponent(sg.name)}`);
        await get(`/manifests/${ACCOUNT}/${sg.region}/${encodeURIComponent(sg.name)}`);
      }

      const ok = (path: string) => {
        const r = responses.find((x) => x.path === path);
        assert.equal(r?.status, 200, `${path}: ${r?.text.slice(0, 300)}`);
        return JSON.parse(r!.text);
      };
      // Not vacuous: the Secret and the Pod are served, the Pod with its reference.
      assert.equal(ok(`/manifests/${ACCOUNT}/default/secret%20${SECRET}`).manifest.metadata.name, SECRET);
      const pod = ok(`/manifests/${ACCOUNT}/default/pod%20${POD}`).manifest;
      assert.equal(pod.spec.containers[0].env[0].valueFrom.secretKeyRef.name, SECRET, 'the reference may appear');
      const raw = ok(`/applications/${APP}/rawResources`);
      assert.ok(
        raw.some((r: { kind: string }) => r.kind === 'secret'),
        `rawResources lists the Secret: ${JSON.stringify(raw).slice(0, 500)}`,
      );
      assert.ok(ok(`/search?q=${SECRET}&type=secret`)[0].results.length > 0, 'search finds the Secret');
      assert.ok(
        responses.filter((r) => r.status === 200).length >= 40,
        `most endpoints answered (${responses
          .filter((r) => r.status !== 200)
          .map((r) => `${r.path} ${r.status}`)
          .join(', ')})`,
      );
      assert.ok(
        responses.some((r) => r.text.includes(canary)),
        'the control value is found in a response',
      );
      for (const r of responses) assert.deepEqual(findNeedles(r.text, needles), [], `${r.path} (${r.status})`);
    });

    test('no log line of any process and no metric carries a secret value', async () => {
      for (const part of ['sim', 'hub', 'agent']) {
        const output = system.group.output(part);
        assert.ok(output.length > 0, `${part} logged`);
        assert.deepEqual(findNeedles(output, needles), [], `${part} output`);
      }
      assert.match(system.group.output('hub'), /"level":20/, 'the processes log at debug level');
      for (const url of [`${system.restUrl}/metrics`, `${system.agentAdminUrl}/metrics`]) {
        const res = await fetch(url);
        const text = await res.text();
        assert.equal(res.status, 200, url);
        assert.ok(text.includes('scale_agent_'), url);
        assert.deepEqual(findNeedles(text, needles), [], url);
      }
      for (const path of ['/accounts', '/watches', '/health']) {
        const res = await system.agentAdmin(path);
        assert.deepEqual(findNeedles(JSON.stringify(res.body), needles), [], `agent ${path}`);
      }
    });
  });
}
