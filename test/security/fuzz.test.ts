/**
 * Hostile input, in bounded time from a printed seed (replay with FUZZ_SEED=<seed>, run longer with
 * FUZZ_BUDGET_MS=<ms per area>):
 *
 * - the hub's gRPC Session and Sync streams get malformed, truncated, oversized, compressed-without-
 *   encoding and out-of-order frames, mutated and hostile (over-long keys, NUL bytes, oversized objects)
 *   messages, written as raw HTTP/2 streams with hand-made gRPC framing (what the typed client cannot
 *   send), plus bytes that are not HTTP/2 at all;
 * - every hub POST endpoint gets random and mutated bodies, content types, headers and query strings;
 * - a real agent gets malformed frames from a fake hub;
 *
 * and each time: the process stays up (/health answers), the answer is a clear error (a gRPC status
 * with a message, an in-protocol refusal with a code, or an HTTP 4xx with a code), and what the hub had
 * committed before is still there, byte for byte. The hub runs on each SQL engine: PostgreSQL and
 * MariaDB refuse what SQLite would quietly store (over-long keys, NUL characters).
 *
 * Also here: an object larger than the limit is reported per object and skipped without dropping the
 * stream, with the real sim, agent and hub.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { connect as netConnect } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, type Client, type ClientDuplexStream } from '@grpc/grpc-js';
import { stringify as toYaml } from 'yaml';
import { ChildProcessGroup } from '../../src/cli/child-processes.ts';
import { silentLogger } from '../../src/common/logger.ts';
import { waitFor } from '../../src/common/time.ts';
import { createStore } from '../../src/hub/store/open-store.ts';
import type { CachedObject } from '../../src/hub/store/types.ts';
import {
  AgentHubClient,
  AgentMessageSchema,
  HubMessageSchema,
  PROTOCOL_VERSION,
  SyncRequestSchema,
  SyncResponseSchema,
  create,
  fromBinary,
  toBinary,
  type AgentMessage,
  type HubMessage,
  type SyncRequest,
  type SyncResponse,
} from '../../src/protocol/index.ts';
import { mysqlServer, postgresServer, type Server } from '../support/database-servers.ts';
import { engineSkip, type EngineName } from '../support/databases.ts';
import { TestSystem, simRequest } from '../support/system.ts';
import { Prng, SESSION_PATH, SYNC_PATH, grpcFrame, helloOfEmptyAccounts, seedFrom } from './fuzz-frames.ts';
import { metricValue } from '../support/prometheus-text.ts';

type Json = any;

const SEED = seedFrom('FUZZ_SEED');
/** Time spent on each fuzzed area (per engine). */
const BUDGET_MS = Number(process.env.FUZZ_BUDGET_MS ?? 3000);
const START_TIMEOUT_MS = 60_000;
const CALL_TIMEOUT_MS = 15_000;
const TOKEN = 'fuzz-token-0123456789abcdef';
const MAX_OBJECT_BYTES = 64 * 1024;
/** gRPC's receive limit on both ends (src/protocol/limits.ts). */
const GRPC_MAX = 8 * 1024 * 1024;

console.log(`fuzz seed ${SEED} (replay: FUZZ_SEED=${SEED} node scripts/test.mjs test/security/fuzz.test.ts)`);

/** JSON.stringify that copes with the bigints of decoded messages. */
function show(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

function jsonLines(output: string): Json[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l)];
      } catch {
        return [];
      }
    });
}

// ------------------------------------------------------------------------------------------------
// Messages

const enc = new TextEncoder();

function helloBytes(agentId: string, account: string, host: string): Uint8Array {
  return toBinary(
    AgentMessageSchema,
    create(AgentMessageSchema, {
      kind: {
        case: 'hello',
        value: {
          agentId,
          agentVersion: 'fuzz',
          protocolVersion: PROTOCOL_VERSION,
          accounts: [
            {
              name: account,
              cluster: { apiServerHost: host, caFingerprint: 'ab', kubeSystemUid: `uid-${host}` },
              kubernetesVersion: 'v1.31.0',
              kinds: [{ group: '', version: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespaced: true, watchable: true }],
              permissions: [
                { access: 'READ', roles: ['dev'] },
                { access: 'WRITE', roles: ['dev'] },
              ],
            },
          ],
        },
      },
    }),
  );
}

const CONFIGMAPS = { group: '', version: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespace: '', namespaced: true };

function configMapBody(name: string, data: Record<string, string>, rv: string): Uint8Array {
  return enc.encode(
    JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: rv }, data }),
  );
}

function batchRequest(
  seq: bigint,
  changes: Array<{ name: string; body?: Uint8Array; namespace?: string; kind?: 'upsert' | 'delete'; feed?: number }>,
  feeds = [CONFIGMAPS],
): SyncRequest {
  return create(SyncRequestSchema, {
    kind: {
      case: 'batch',
      value: {
        seq,
        feeds,
        changes: changes.map((c) =>
          c.kind === 'delete'
            ? { feed: c.feed ?? 0, kind: { case: 'delete' as const, value: { namespace: c.namespace ?? 'default', name: c.name } } }
            : {
                feed: c.feed ?? 0,
                kind: {
                  case: 'upsert' as const,
                  value: {
                    namespace: c.namespace ?? 'default',
                    name: c.name,
                    uid: `uid-${c.name}`,
                    resourceVersion: '7',
                    object: c.body ?? configMapBody(c.name, {}, '7'),
                  },
                },
              },
        ),
      },
    },
  });
}

function openBytes(sessionId: string, account: string): Uint8Array {
  return toBinary(SyncRequestSchema, create(SyncRequestSchema, { kind: { case: 'open', value: { sessionId, account } } }));
}

// ------------------------------------------------------------------------------------------------
// Raw HTTP/2 calls

interface RawOutcome {
  httpStatus?: number;
  contentType?: string;
  grpcStatus?: number;
  grpcMessage?: string;
  /** gRPC messages the server sent. */
  messages: Buffer[];
  timedOut: boolean;
  error?: string;
}

function splitMessages(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at + 5 <= data.length) {
    const length = data.readUInt32BE(at + 1);
    if (at + 5 + length > data.length) break;
    out.push(data.subarray(at + 5, at + 5 + length));
    at += 5 + length;
  }
  return out;
}

/**
 * One gRPC call written by hand: the request headers (overridable), the given chunks as DATA, then
 * end of stream (or a cancel with `cancel`). Resolves with what the server answered.
 */
function rawCall(
  session: http2.ClientHttp2Session,
  path: string,
  chunks: readonly Buffer[],
  options: { headers?: Record<string, string>; cancel?: boolean; waitMs?: number } = {},
): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const outcome: RawOutcome = { messages: [], timedOut: false };
    const data: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      outcome.messages = splitMessages(Buffer.concat(data));
      resolve(outcome);
    };
    const timer = setTimeout(() => {
      outcome.timedOut = true;
      stream.close(http2.constants.NGHTTP2_CANCEL);
      finish();
    }, options.waitMs ?? CALL_TIMEOUT_MS);
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...(options.headers ?? {}) });
    const readStatus = (headers: http2.IncomingHttpHeaders) => {
      if (headers[':status'] !== undefined) outcome.httpStatus = Number(headers[':status']);
      if (headers['content-type'] !== undefined) outcome.contentType = String(headers['content-type']);
      if (headers['grpc-status'] !== undefined) outcome.grpcStatus = Number(headers['grpc-status']);
      if (headers['grpc-message'] !== undefined) outcome.grpcMessage = decodeURIComponent(String(headers['grpc-message']));
    };
    stream.on('response', readStatus);
    stream.on('trailers', readStatus);
    stream.on('data', (chunk: Buffer) => data.push(chunk));
    stream.on('error', (err) => {
      outcome.error = err.message;
    });
    stream.on('close', finish);
    for (const chunk of chunks) stream.write(chunk);
    if (options.cancel) setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), 20);
    else stream.end();
  });
}

function decodeHub(messages: readonly Buffer[]): HubMessage[] {
  return messages.map((m) => fromBinary(HubMessageSchema, m));
}

function decodeSync(messages: readonly Buffer[]): SyncResponse[] {
  return messages.map((m) => fromBinary(SyncResponseSchema, m));
}

/** Either a gRPC error with a message, an HTTP 4xx, or an in-protocol answer; never silence. */
function judge(outcome: RawOutcome, answers: Array<{ kind: { case?: string; value?: unknown } }>): 'error' | 'refusal' | 'accepted' | 'unclear' {
  if (outcome.timedOut) return 'unclear';
  if (answers.some((a) => a.kind.case === 'refusal' && ((a.kind.value as { code?: string }).code ?? '') !== '')) return 'refusal';
  if (outcome.grpcStatus !== undefined && outcome.grpcStatus !== 0) return (outcome.grpcMessage ?? '') !== '' ? 'error' : 'unclear';
  if (outcome.httpStatus !== undefined && outcome.httpStatus >= 400 && outcome.httpStatus < 500) return 'error';
  if (answers.some((a) => ['welcome', 'ready', 'ack', 'pong'].includes(a.kind.case ?? ''))) return 'accepted';
  return 'unclear';
}

// ------------------------------------------------------------------------------------------------
// Random JSON and REST bodies

function randomString(rng: Prng): string {
  switch (rng.int(8)) {
    case 0:
      return '';
    case 1:
      return 'x'.repeat(rng.int(5000));
    case 2:
      return String.fromCodePoint(...Array.from({ length: 1 + rng.int(20) }, () => rng.pick([0, 0x7f, 0xe9, 0x2028, 0xd7ff, 0x1f600, 0x10ffff, 0x22, 0x5c])));
    case 3:
      return rng.pick([
        'deployManifest',
        'fuzz-acct',
        'stable-acct',
        'nope',
        'deployment web',
        'default',
        '../../etc/passwd',
        '%00',
        '${jndi:ldap://x}',
        '__proto__',
        'constructor',
      ]);
    default:
      return rng.bytes(1 + rng.int(24)).toString('base64');
  }
}

function randomJson(rng: Prng, depth = 0): unknown {
  const k = depth > 4 ? rng.int(4) : rng.int(7);
  switch (k) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, -1, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 2 ** 53, 1e-300]);
    case 3:
      return randomString(rng);
    case 4:
      return Array.from({ length: rng.int(6) }, () => randomJson(rng, depth + 1));
    default: {
      const out: Record<string, unknown> = {};
      for (let i = rng.int(6); i > 0; i--)
        out[
          rng.chance(0.5)
            ? randomString(rng)
            : rng.pick(['account', 'manifests', 'manifestName', 'location', 'moniker', 'source', 'kind', 'retry', '__proto__'])
        ] = randomJson(rng, depth + 1);
      return out;
    }
  }
}

const VALID_OPS: Record<string, Json> = {
  deployManifest: {
    account: 'fuzz-acct',
    cloudProvider: 'kubernetes',
    source: 'text',
    moniker: { app: 'fuzz' },
    manifests: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'default' }, data: { a: 'b' } }],
  },
  deleteManifest: { account: 'fuzz-acct', manifestName: 'configMap cm', location: 'default', options: { cascading: true } },
  patchManifest: {
    account: 'fuzz-acct',
    manifestName: 'configMap cm',
    location: 'default',
    source: 'text',
    patchBody: { data: { a: 'c' } },
    options: { mergeStrategy: 'strategic' },
  },
  scaleManifest: { account: 'fuzz-acct', manifestName: 'deployment web', location: 'default', replicas: 3 },
  undoRolloutManifest: { account: 'fuzz-acct', manifestName: 'deployment web', location: 'default', numRevisionsBack: 1 },
  pauseRolloutManifest: { account: 'fuzz-acct', manifestName: 'deployment web', location: 'default' },
  resumeRolloutManifest: { account: 'fuzz-acct', manifestName: 'deployment web', location: 'default' },
  rollingRestartManifest: { account: 'fuzz-acct', manifestName: 'deployment web', location: 'default' },
  enableManifest: { account: 'fuzz-acct', manifestName: 'replicaSet web-v001', location: 'default', loadBalancers: ['service web'] },
  disableManifest: { account: 'fuzz-acct', manifestName: 'replicaSet web-v001', location: 'default', loadBalancers: ['service web'] },
  runJob: {
    account: 'fuzz-acct',
    application: 'fuzz',
    source: 'text',
    manifest: {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'j', namespace: 'default' },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
    },
  },
  cleanupArtifacts: { account: 'fuzz-acct', manifests: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'old', namespace: 'default' } }] },
  resizeServerGroup: { account: 'fuzz-acct', serverGroupName: 'replicaSet web-v001', region: 'default', capacity: { desired: 2, min: 0, max: 4 } },
};

/** A valid value with a few random edits: keys dropped, values replaced, types swapped, wrapped. */
function mutateJson(rng: Prng, value: unknown, depth = 0): unknown {
  if (rng.chance(0.15) || depth > 6) return randomJson(rng, depth);
  if (Array.isArray(value)) {
    const list = value.map((v) => (rng.chance(0.3) ? mutateJson(rng, v, depth + 1) : v));
    if (rng.chance(0.2)) list.push(randomJson(rng, depth + 1));
    if (rng.chance(0.1)) list.splice(rng.int(list.length + 1), 1);
    return list;
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (rng.chance(0.1)) continue;
      out[k] = rng.chance(0.3) ? mutateJson(rng, v, depth + 1) : v;
    }
    if (rng.chance(0.2)) out[randomString(rng)] = randomJson(rng, depth + 1);
    return out;
  }
  return rng.chance(0.5) ? randomJson(rng, depth + 1) : value;
}

// ------------------------------------------------------------------------------------------------
// A legitimate agent over the typed client

type HubClient = Client & { Session(): ClientDuplexStream<AgentMessage, HubMessage>; Sync(): ClientDuplexStream<SyncRequest, SyncResponse> };

function next<Req, T>(call: ClientDuplexStream<Req, T>, match: (m: T) => boolean, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), CALL_TIMEOUT_MS);
    const onData = (m: T) => {
      if (!match(m)) return;
      clearTimeout(timer);
      call.off('data', onData);
      resolve(m);
    };
    call.on('data', onData);
  });
}

class LegitAgent {
  session!: ClientDuplexStream<AgentMessage, HubMessage>;
  sync!: ClientDuplexStream<SyncRequest, SyncResponse>;
  sessionId = '';
  private pinger: NodeJS.Timeout | undefined;
  private seq = 0n;

  constructor(
    private readonly client: HubClient,
    readonly account: string,
  ) {}

  async start(): Promise<void> {
    this.session = this.client.Session();
    this.session.on('error', () => undefined);
    // Operations the fuzzed requests start are answered at once, as an API server refusing them would,
    // so no request waits for a deadline (and nothing is ever written).
    this.session.on('data', (m: HubMessage) => {
      if (m.kind.case !== 'operation') return;
      const { id, account } = m.kind.value;
      const body = enc.encode(
        JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'the fuzz agent runs nothing' }),
      );
      this.session.write(
        create(AgentMessageSchema, {
          kind: { case: 'operationResult', value: { id, account, httpStatus: 404, errorCode: 'KUBE_API_ERROR', message: 'the fuzz agent runs nothing', body } },
        }),
      );
    });
    const welcomed = next(this.session, (m) => m.kind.case === 'welcome' || m.kind.case === 'refusal', 'a welcome');
    this.session.write(fromBinary(AgentMessageSchema, helloBytes(`legit-${this.account}`, this.account, `https://${this.account}.example`)));
    const welcome = await welcomed;
    assert.equal(welcome.kind.case, 'welcome', show(welcome));
    this.sessionId = welcome.kind.case === 'welcome' ? welcome.kind.value.sessionId : '';
    this.pinger = setInterval(
      () => this.session.write(create(AgentMessageSchema, { kind: { case: 'ping', value: { nonce: 1n, sentUnixMs: BigInt(Date.now()) } } })),
      2000,
    );
    this.sync = this.client.Sync();
    this.sync.on('error', () => undefined);
    const ready = next(this.sync, (m) => m.kind.case === 'ready' || m.kind.case === 'refusal', 'ready');
    this.sync.write(create(SyncRequestSchema, { kind: { case: 'open', value: { sessionId: this.sessionId, account: this.account } } }));
    assert.equal((await ready).kind.case, 'ready');
  }

  async commit(changes: Parameters<typeof batchRequest>[1]): Promise<void> {
    const seq = ++this.seq;
    const acked = next(this.sync, (m) => (m.kind.case === 'ack' && m.kind.value.seq === seq) || m.kind.case === 'refusal', `ack ${seq}`);
    this.sync.write(batchRequest(seq, changes));
    const reply = await acked;
    assert.equal(reply.kind.case, 'ack', show(reply));
  }

  stop(): void {
    clearInterval(this.pinger);
    this.sync?.cancel();
    this.session?.cancel();
  }
}

// ------------------------------------------------------------------------------------------------
// The hub as a real process

interface HubProcess {
  group: ChildProcessGroup;
  /** Set when the hub exits without being asked to. */
  exited: { code: number | null } | undefined;
  restUrl: string;
  grpcPort: number;
  databaseUrl: string;
  stop(): Promise<void>;
}

async function startHubProcess(engine: EngineName, dir: string, server: Server | undefined): Promise<HubProcess> {
  const databaseUrl = server ? await server.create() : `sqlite:${join(dir, 'hub.db')}`;
  const configPath = join(dir, `hub-${engine}.yaml`);
  writeFileSync(
    configPath,
    toYaml({
      server: { host: '127.0.0.1', port: 0 },
      grpc: { host: '127.0.0.1', port: 0, insecure: true, allowAnyIdentity: true },
      database: { url: databaseUrl, poolSize: 4 },
      operations: { timeoutMs: 1500 },
      limits: { maxObjectBytes: MAX_OBJECT_BYTES },
      auth: {
        enabled: true,
        unrestrictedAccounts: 'open',
        adminRoles: ['admins'],
        tokens: [{ token: TOKEN, user: 'fuzzer', roles: ['admins', 'dev'] }],
        trustedGate: { sources: ['127.0.0.1'] },
      },
      logging: { format: 'json' },
    }),
  );
  const group = new ChildProcessGroup({ echo: process.env.E2E_ECHO === '1' });
  const processInfo = { exited: undefined as { code: number | null } | undefined };
  group.onUnexpectedExit((_name, code) => (processInfo.exited = { code }));
  group.start('hub', ['hub', '--config', configPath]);
  const started = await waitFor(() => jsonLines(group.output('hub')).find((l) => l.msg === 'hub started'), {
    timeoutMs: START_TIMEOUT_MS,
    what: `the hub on ${engine} to start`,
  });
  return {
    group,
    get exited() {
      return processInfo.exited;
    },
    restUrl: `http://127.0.0.1:${started.rest}`,
    grpcPort: started.grpc,
    databaseUrl,
    async stop() {
      await group.stopAll();
      if (server) await server.drop(databaseUrl);
    },
  };
}

async function objectsOf(databaseUrl: string, account: string): Promise<CachedObject[]> {
  const store = await createStore({ url: databaseUrl, poolSize: 1, connectTimeoutMs: 5000 }, silentLogger());
  try {
    return await store.listObjects({ account });
  } finally {
    await store.close();
  }
}

async function healthy(restUrl: string): Promise<void> {
  const res = await fetch(`${restUrl}/health`);
  assert.equal(res.status, 200, 'the hub answers /health');
}

/** What one hostile message may cost the hub: its CPU (from its own metrics) and its memory. */
const MAX_CPU_SECONDS_PER_MESSAGE = 0.5;
const MAX_RSS_GROWTH_BYTES = 100 * 1024 * 1024;

/** The hub process's CPU seconds and resident memory, from its /metrics. */
async function hubCost(restUrl: string): Promise<{ cpuSeconds: number; rss: number }> {
  const text = await (await fetch(`${restUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  return {
    cpuSeconds: metricValue(text, 'process_cpu_seconds_total'),
    rss: metricValue(text, 'process_resident_memory_bytes'),
  };
}

/** A hello whose one account declares `count` kinds: over the per-list budget. */
function helloOfManyKinds(count: number): Buffer {
  const kinds = Array.from({ length: count }, (_, i) => ({ kind: `K${i}` }));
  return Buffer.from(
    toBinary(
      AgentMessageSchema,
      create(AgentMessageSchema, {
        kind: { case: 'hello', value: { agentId: 'cost', protocolVersion: PROTOCOL_VERSION, accounts: [{ name: 'cost-acct', kinds }] } },
      }),
    ),
  );
}

// ------------------------------------------------------------------------------------------------

for (const engine of ['sqlite', 'postgres', 'mysql'] as const) {
  describe(`fuzz the hub [${engine}] (seed ${SEED})`, { timeout: 300_000, skip: engineSkip(engine) }, () => {
    const rng = new Prng(SEED ^ engine.length);
    const dir = mkdtempSync(join(tmpdir(), 'scale-agent-fuzz-'));
    let server: Server | undefined;
    let hub: HubProcess;
    let client: HubClient;
    let stable: LegitAgent;
    let fuzzAgent: LegitAgent;
    let committed: CachedObject[] = [];

    before(async () => {
      if (engine !== 'sqlite') server = engine === 'postgres' ? await postgresServer() : await mysqlServer();
      hub = await startHubProcess(engine, dir, server);
      client = new AgentHubClient(`127.0.0.1:${hub.grpcPort}`, credentials.createInsecure(), {
        'grpc.max_send_message_length': GRPC_MAX * 2,
      }) as unknown as HubClient;
      stable = new LegitAgent(client, 'stable-acct');
      await stable.start();
      // What must survive the fuzzing unchanged: varied bodies, unicode, a large one.
      await stable.commit(
        Array.from({ length: 25 }, (_, i) => ({
          name: `cm-${i}`,
          body: configMapBody(`cm-${i}`, { text: `value ${i} ✓ 雪 🚀 "quoted" \\ back`, big: i === 7 ? 'z'.repeat(40_000) : '' }, String(100 + i)),
        })),
      );
      committed = await objectsOf(hub.databaseUrl, 'stable-acct');
      assert.equal(committed.length, 25);
      fuzzAgent = new LegitAgent(client, 'fuzz-acct');
      await fuzzAgent.start();
    });

    after(async () => {
      stable?.stop();
      fuzzAgent?.stop();
      client?.close();
      await hub?.stop();
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('Session streams: malformed, truncated, oversized and out-of-order frames each get a clear error', async () => {
      const h2 = http2.connect(`http://127.0.0.1:${hub.grpcPort}`);
      h2.on('error', () => undefined);
      const valid = Buffer.from(helloBytes('fuzz-agent', 'fuzz-hello-acct', 'https://fuzz.example'));
      const ping = Buffer.from(toBinary(AgentMessageSchema, create(AgentMessageSchema, { kind: { case: 'ping', value: { nonce: 5n } } })));
      const result = Buffer.from(
        toBinary(AgentMessageSchema, create(AgentMessageSchema, { kind: { case: 'operationResult', value: { id: 'nope', httpStatus: 200 } } })),
      );
      type Case = { name: string; chunks: Buffer[]; headers?: Record<string, string>; cancel?: boolean; path?: string };
      const cases: Array<() => Case> = [
        () => ({ name: 'garbage', chunks: [grpcFrame(rng.bytes(1 + rng.int(300)))] }),
        () => ({ name: 'mutated hello', chunks: [grpcFrame(rng.mutate(valid))] }),
        () => ({ name: 'truncated message', chunks: [grpcFrame(valid.subarray(0, rng.int(valid.length)), { declaredLength: valid.length })] }),
        () => ({ name: 'length prefix too short', chunks: [grpcFrame(valid, { declaredLength: rng.int(valid.length) })] }),
        () => ({ name: 'absurd length prefix', chunks: [grpcFrame(rng.bytes(16), { declaredLength: 0xfffffff0 })] }),
        () => ({ name: 'compressed without encoding', chunks: [grpcFrame(valid, { compressed: true })] }),
        () => ({ name: 'gzip that is not gzip', chunks: [grpcFrame(rng.bytes(64), { compressed: true })], headers: { 'grpc-encoding': 'gzip' } }),
        () => ({ name: 'unknown encoding', chunks: [grpcFrame(valid, { compressed: true })], headers: { 'grpc-encoding': 'zstd-fuzz' } }),
        () => ({ name: 'ping before hello', chunks: [grpcFrame(ping)] }),
        () => ({ name: 'result before hello', chunks: [grpcFrame(result)] }),
        () => ({ name: 'empty message', chunks: [grpcFrame(Buffer.alloc(0))] }),
        () => ({ name: 'hello then garbage', chunks: [grpcFrame(valid), grpcFrame(rng.bytes(40))] }),
        () => ({ name: 'hello split in tiny frames, then a second hello', chunks: [...[...grpcFrame(valid)].map((b) => Buffer.from([b])), grpcFrame(valid)] }),
        () => ({ name: 'random header bytes', chunks: [rng.bytes(3)] }),
        () => ({
          name: 'wrong content type',
          chunks: [grpcFrame(valid)],
          headers: { 'content-type': rng.pick(['application/json', 'text/html', 'application/grpc+json']) },
        }),
        () => ({ name: 'unknown method', chunks: [grpcFrame(valid)], path: '/scaleagent.v1.AgentHub/Nope' }),
        () => ({ name: 'cancelled mid-message', chunks: [grpcFrame(valid).subarray(0, 7)], cancel: true }),
      ];
      const tally = new Map<string, number>();
      const started = Date.now();
      for (let i = 0; Date.now() - started < BUDGET_MS || i < cases.length; i++) {
        const c = cases[i < cases.length ? i : rng.int(cases.length)]!();
        const outcome = await rawCall(h2, c.path ?? SESSION_PATH, c.chunks, { headers: c.headers, cancel: c.cancel });
        tally.set(c.name, (tally.get(c.name) ?? 0) + 1);
        if (c.cancel) continue; // we hung up ourselves: nothing to judge
        const verdict = judge(outcome, decodeHub(outcome.messages));
        assert.notEqual(verdict, 'unclear', `${c.name}: ${show({ ...outcome, messages: decodeHub(outcome.messages) })}`);
      }
      // Cost, not only shape: messages built to be expensive to decode. Each is refused within a bounded
      // share of the hub's CPU and memory, and the legitimate agent's session lives on meanwhile.
      const costs: Array<{ name: string; message: Buffer }> = [
        { name: 'hello of millions of empty accounts', message: helloOfEmptyAccounts(Math.floor((GRPC_MAX - 16) / 2) - rng.int(1_000_000)) },
        { name: 'hello of one account with 60,000 kinds', message: helloOfManyKinds(60_000) },
      ];
      const costBefore = await hubCost(hub.restUrl);
      for (const cost of costs) {
        const before = await hubCost(hub.restUrl);
        const outcome = await rawCall(h2, SESSION_PATH, [grpcFrame(cost.message)]);
        const after = await hubCost(hub.restUrl);
        assert.notEqual(judge(outcome, decodeHub(outcome.messages)), 'unclear', `${cost.name}: ${show({ ...outcome, messages: decodeHub(outcome.messages) })}`);
        assert.ok(
          after.cpuSeconds - before.cpuSeconds < MAX_CPU_SECONDS_PER_MESSAGE,
          `${cost.name} cost the hub ${(after.cpuSeconds - before.cpuSeconds).toFixed(2)} s of CPU`,
        );
        tally.set(cost.name, 1);
      }
      const costAfter = await hubCost(hub.restUrl);
      assert.ok(
        costAfter.rss - costBefore.rss < MAX_RSS_GROWTH_BYTES,
        `the costly messages grew the hub's RSS by ${Math.round((costAfter.rss - costBefore.rss) / 1024 / 1024)} MiB`,
      );
      const pong = next(stable.session, (m) => m.kind.case === 'pong', 'a pong on the legitimate session');
      stable.session.write(create(AgentMessageSchema, { kind: { case: 'ping', value: { nonce: 7n, sentUnixMs: BigInt(Date.now()) } } }));
      await pong;

      // One message over gRPC's limit, once: refused with RESOURCE_EXHAUSTED, not buffered.
      const huge = await rawCall(h2, SESSION_PATH, [grpcFrame(Buffer.alloc(GRPC_MAX + 1024, 0x41))]);
      assert.equal(huge.grpcStatus, 8, show({ ...huge, messages: huge.messages.length }));
      assert.match(huge.grpcMessage ?? '', /larger than max/i);
      h2.close();
      await healthy(hub.restUrl);
      console.log(`session fuzz [${engine}]: ${[...tally].map(([k, v]) => `${k}×${v}`).join(', ')}`);
    });

    test('Sync streams: malformed and hostile batches are refused or skipped per change, never crash', async () => {
      const h2 = http2.connect(`http://127.0.0.1:${hub.grpcPort}`);
      h2.on('error', () => undefined);
      const open = Buffer.from(openBytes(fuzzAgent.sessionId, 'fuzz-acct'));
      const goodBatch = Buffer.from(toBinary(SyncRequestSchema, batchRequest(1n, [{ name: 'ok-1' }, { name: 'ok-2' }])));
      const hostile = (): Buffer => {
        const long = 'n'.repeat(254 + rng.int(400));
        const changes = [
          { name: long },
          { name: 'nul\u0000name' },
          { name: 'ok-after', namespace: 'x'.repeat(64 + rng.int(100)) },
          { name: 'invalid-utf8', body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) },
          { name: 'not-json', body: rng.bytes(50) },
          {
            name: 'nul-in-body',
            body: enc.encode(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'nul-in-body', annotations: { a: 'x\u0000y' } } })),
          },
          {
            name: 'nul-app',
            body: enc.encode(
              JSON.stringify({
                apiVersion: 'v1',
                kind: 'ConfigMap',
                metadata: { name: 'nul-app', annotations: { 'moniker.spinnaker.io/application': 'app\u0000x', 'moniker.spinnaker.io/cluster': '\u0000' } },
              }),
            ),
          },
          { name: 'too-large', body: configMapBody('too-large', { blob: 'b'.repeat(MAX_OBJECT_BYTES + 10) }, '9') },
          { name: 'bad-feed', feed: 1 + rng.int(1000) },
          { name: 'cm-3', kind: 'delete' as const },
          { name: 'fine' },
        ];
        const feeds = [rng.chance(0.5) ? CONFIGMAPS : { ...CONFIGMAPS, kind: 'K'.repeat(101 + rng.int(50)), group: 'g'.repeat(rng.int(300)) }];
        return Buffer.from(
          toBinary(
            SyncRequestSchema,
            batchRequest(
              BigInt(rng.int(1000)),
              changes.filter(() => rng.chance(0.7)),
              feeds,
            ),
          ),
        );
      };
      type Case = { name: string; chunks: Buffer[]; headers?: Record<string, string> };
      const cases: Array<() => Case> = [
        () => ({ name: 'garbage', chunks: [grpcFrame(rng.bytes(1 + rng.int(300)))] }),
        () => ({ name: 'batch before open', chunks: [grpcFrame(goodBatch)] }),
        () => ({ name: 'open for an unknown session', chunks: [grpcFrame(openBytes(`s-${rng.int(1e9)}`, 'fuzz-acct'))] }),
        () => ({ name: 'open for an account the session does not cache', chunks: [grpcFrame(openBytes(fuzzAgent.sessionId, 'stable-acct'))] }),
        () => ({ name: 'open twice', chunks: [grpcFrame(open), grpcFrame(open)] }),
        () => ({ name: 'open then garbage', chunks: [grpcFrame(open), grpcFrame(rng.bytes(1 + rng.int(200)))] }),
        () => ({ name: 'open then mutated batch', chunks: [grpcFrame(open), grpcFrame(rng.mutate(goodBatch))] }),
        () => ({
          name: 'open then truncated batch',
          chunks: [grpcFrame(open), grpcFrame(goodBatch.subarray(0, rng.int(goodBatch.length)), { declaredLength: goodBatch.length })],
        }),
        () => ({ name: 'open then hostile batch', chunks: [grpcFrame(open), grpcFrame(hostile())] }),
        () => ({ name: 'open then compressed batch', chunks: [grpcFrame(open), grpcFrame(goodBatch, { compressed: true })] }),
        () => ({ name: 'mutated open', chunks: [grpcFrame(rng.mutate(open))] }),
      ];
      const tally = new Map<string, number>();
      const started = Date.now();
      for (let i = 0; Date.now() - started < BUDGET_MS || i < cases.length * 2; i++) {
        const c = cases[i < cases.length * 2 ? i % cases.length : rng.int(cases.length)]!();
        const outcome = await rawCall(h2, SYNC_PATH, c.chunks, { headers: c.headers });
        tally.set(c.name, (tally.get(c.name) ?? 0) + 1);
        const verdict = judge(outcome, decodeSync(outcome.messages));
        assert.notEqual(verdict, 'unclear', `${c.name}: ${show({ ...outcome, messages: decodeSync(outcome.messages) })}`);
      }
      h2.close();
      await healthy(hub.restUrl);
      console.log(`sync fuzz [${engine}]: ${[...tally].map(([k, v]) => `${k}×${v}`).join(', ')}`);
    });

    test('an object over the size limit is reported per object and skipped; the stream and the rest of the batch go on', async () => {
      await fuzzAgent.commit([
        { name: 'before-big' },
        { name: 'big', body: configMapBody('big', { blob: 'b'.repeat(MAX_OBJECT_BYTES + 1) }, '8') },
        { name: 'after-big' },
      ]);
      await fuzzAgent.commit([{ name: 'next-batch' }]);
      const names = (await objectsOf(hub.databaseUrl, 'fuzz-acct')).map((o) => o.name);
      for (const name of ['before-big', 'after-big', 'next-batch']) assert.ok(names.includes(name), `${name} is stored`);
      assert.ok(!names.includes('big'), 'the oversized object is not stored');
      const report = jsonLines(hub.group.output('hub')).find((l) => l.name === 'big' && l.code === 'OBJECT_TOO_LARGE');
      assert.ok(report, 'the hub reports the object with its name and OBJECT_TOO_LARGE');
      assert.match(report.msg, /larger than the limit|more than the limit/);
    });

    test('bytes that are not HTTP/2 at all, and HTTP/1.1, on the gRPC port', async () => {
      for (const payload of [
        rng.bytes(4096),
        Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
        Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), rng.bytes(512)]),
      ]) {
        await new Promise<void>((resolve) => {
          const socket = netConnect(hub.grpcPort, '127.0.0.1', () => socket.end(payload));
          socket.on('data', () => undefined);
          socket.on('error', () => resolve());
          socket.on('close', () => resolve());
          setTimeout(() => {
            socket.destroy();
            resolve();
          }, 3000);
        });
      }
      await healthy(hub.restUrl);
    });

    test('every POST endpoint: random and mutated bodies, content types, headers and queries get 2xx or a 4xx with a code', async () => {
      const opNames = Object.keys(VALID_OPS);
      const endpoints: Array<() => { method: string; path: string; body: () => unknown }> = [
        () => ({
          method: 'POST',
          path: rng.pick(['/kubernetes/ops', '/ops']),
          body: () => (rng.chance(0.6) ? mutateJson(rng, [{ [rng.pick(opNames)]: VALID_OPS[rng.pick(opNames)] }]) : randomJson(rng)),
        }),
        () => {
          const op = rng.chance(0.9) ? rng.pick(opNames) : randomString(rng);
          return {
            method: 'POST',
            path: `${rng.pick(['/kubernetes/ops', '/ops'])}/${encodeURIComponent(op)}`,
            body: () => (rng.chance(0.6) ? mutateJson(rng, VALID_OPS[op] ?? {}) : randomJson(rng)),
          };
        },
        () => ({
          method: 'POST',
          path: `/cache/${encodeURIComponent(randomString(rng) || 'kubernetes')}/${encodeURIComponent(randomString(rng) || 'manifest')}`,
          body: () => randomJson(rng),
        }),
        () => ({ method: 'POST', path: `/task/${encodeURIComponent(randomString(rng) || 'x')}:resume`, body: () => randomJson(rng) }),
        () => ({
          method: 'POST',
          path: `/kubernetes/task/${encodeURIComponent(randomString(rng) || 'x')}/restart`,
          body: () => mutateJson(rng, [{ deployManifest: VALID_OPS.deployManifest }]),
        }),
        () => ({
          method: 'PATCH',
          path: `/kubernetes/task/${encodeURIComponent(randomString(rng) || 'x')}`,
          body: () => (rng.chance(0.5) ? { retry: randomJson(rng) } : randomJson(rng)),
        }),
        () => ({
          method: 'POST',
          path: `/applications/${encodeURIComponent(randomString(rng) || 'a')}/jobs/${rng.pick(['fuzz-acct', 'stable-acct', 'nope'])}/default/${encodeURIComponent(rng.pick(['job j', randomString(rng) || 'x']))}`,
          body: () => randomJson(rng),
        }),
      ];
      const problems: string[] = [];
      const statuses = new Map<number, number>();
      const slowest = { ms: 0, what: '' };
      const started = Date.now();
      for (let i = 0; Date.now() - started < BUDGET_MS * 2; i++) {
        const e = rng.pick(endpoints)();
        const value = e.body();
        let payload: string | Buffer;
        const roll = rng.int(10);
        // JSON.stringify gives undefined for a body that is undefined (or a function): send null then.
        const json = JSON.stringify(value) ?? 'null';
        if (roll === 0) payload = rng.bytes(rng.int(200));
        else if (roll === 1) payload = json.slice(0, rng.int(json.length + 1));
        else payload = json;
        const headers: Record<string, string> = {};
        if (rng.chance(0.85))
          headers['content-type'] = rng.chance(0.8)
            ? 'application/json'
            : rng.pick([
                'text/plain',
                'application/x-www-form-urlencoded',
                'application/json; charset=latin1',
                'multipart/form-data; boundary=x',
                '*/*',
                'application/json, text/plain',
              ]);
        if (rng.chance(0.85)) headers.authorization = `Bearer ${TOKEN}`;
        else if (rng.chance(0.5))
          headers.authorization = rng.pick(['Bearer', 'Bearer  ', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, `bearer ${TOKEN}`, `Bearer ${'a'.repeat(8000)}`]);
        else headers['x-spinnaker-user'] = rng.pick(['anonymous', 'fuzzer', 'two users', '']);
        if (rng.chance(0.2)) headers[`x-fuzz-${rng.int(100)}`] = rng.bytes(1 + rng.int(30)).toString('hex');
        if (rng.chance(0.1)) headers['x-spinnaker-roles'] = randomString(rng).replace(/[^\x20-\x7e]/g, '');
        const query = rng.chance(0.3) ? `?clientRequestId=${encodeURIComponent(randomString(rng))}` : '';
        let res: Response;
        const sentAt = Date.now();
        try {
          res = await fetch(hub.restUrl + e.path + query, { method: e.method, headers, body: payload });
        } catch (err) {
          problems.push(`${e.method} ${e.path.slice(0, 200)}: request failed: ${(err as Error).message}`);
          continue;
        }
        const text = await res.text();
        const tookMs = Date.now() - sentAt;
        if (tookMs > slowest.ms) Object.assign(slowest, { ms: tookMs, what: `${e.method} ${e.path.slice(0, 80)} → ${res.status}` });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const where = `${e.method} ${e.path.slice(0, 200)}${e.path.length > 200 ? '…' : ''}`;
        if (res.status >= 500) problems.push(`${where} → ${res.status}: ${text.slice(0, 300)}`);
        else if (res.status >= 400) {
          let code: unknown;
          try {
            code = JSON.parse(text).code;
          } catch {
            code = undefined;
          }
          if (typeof code !== 'string' || code === '') problems.push(`${where} → ${res.status} without a code: ${text.slice(0, 200)}`);
        }
      }
      assert.deepEqual(problems.slice(0, 10), [], `${problems.length} bad answers`);
      assert.ok(
        (statuses.get(200) ?? 0) > 0 && [...statuses.keys()].some((s) => s >= 400),
        `both accepted and refused requests: ${JSON.stringify([...statuses])}`,
      );
      await healthy(hub.restUrl);
      console.log(`REST fuzz [${engine}]: ${[...statuses].map(([k, v]) => `${k}×${v}`).join(', ')}; slowest ${slowest.ms} ms (${slowest.what})`);
    });

    test('read endpoints: hostile path segments and queries get 2xx or a 4xx with a code', async () => {
      const seg = () =>
        encodeURIComponent(rng.chance(0.3) ? rng.pick(['stable-acct', 'fuzz-acct', 'default', 'configMap cm-1', '_']) : randomString(rng) || 'x');
      const paths: Array<() => string> = [
        () => `/credentials/${seg()}`,
        () => `/manifests/${seg()}/${seg()}/${seg()}?includeEvents=false`,
        () => `/manifests/${seg()}/${seg()}/${seg()}/cluster/${seg()}/${seg()}`,
        () => `/applications/${seg()}`,
        () => `/applications/${seg()}/clusters/${seg()}/${seg()}`,
        () => `/applications/${seg()}/serverGroups?clusters=${seg()}`,
        () => `/serverGroups/${seg()}/${seg()}/${seg()}`,
        () => `/serverGroups?ids=${seg()}`,
        () => `/securityGroups/${seg()}/kubernetes/${seg()}/${seg()}`,
        () => `/search?q=${seg()}&type=${seg()}&pageSize=${seg()}`,
        () => `/task/${seg()}`,
        () => `/kubernetes/task/${seg()}/owner`,
        () => `/applications/${seg()}/rawResources`,
        () => `/admin/operations?account=${seg()}&limit=${seg()}`,
      ];
      const problems: string[] = [];
      const started = Date.now();
      let count = 0;
      for (; Date.now() - started < BUDGET_MS; count++) {
        const path = rng.pick(paths)();
        const res = await fetch(hub.restUrl + path, { headers: { authorization: `Bearer ${TOKEN}` } });
        const text = await res.text();
        if (res.status >= 500) problems.push(`GET ${path} → ${res.status}: ${text.slice(0, 300)}`);
        else if (res.status >= 400 && typeof (JSON.parse(text) as { code?: unknown }).code !== 'string')
          problems.push(`GET ${path} → ${res.status} without a code`);
      }
      assert.deepEqual(problems.slice(0, 10), [], `${problems.length} bad answers of ${count}`);
      await healthy(hub.restUrl);
    });

    test('after all of it the hub is up and every object committed before is intact, byte for byte', async () => {
      await healthy(hub.restUrl);
      assert.equal(hub.exited, undefined, 'the hub process is still running');
      const now = await objectsOf(hub.databaseUrl, 'stable-acct');
      const key = (o: CachedObject) => `${o.namespace}/${o.name}`;
      assert.deepEqual(
        now.map((o) => [key(o), o.uid, o.resourceVersion, o.body]).sort(),
        committed.map((o) => [key(o), o.uid, o.resourceVersion, o.body]).sort(),
      );
      const crashes = jsonLines(hub.group.output('hub')).filter((l) => l.level >= 50 && /uncaught|unhandled/i.test(l.msg ?? ''));
      assert.deepEqual(crashes, []);
    });
  });
}

// ------------------------------------------------------------------------------------------------
// A real agent against a fake hub

describe(`fuzz an agent from a fake hub (seed ${SEED})`, { timeout: 240_000 }, () => {
  const rng = new Prng(SEED ^ 0x5eed);
  const dir = mkdtempSync(join(tmpdir(), 'scale-agent-fuzz-agent-'));
  const group = new ChildProcessGroup({ echo: process.env.E2E_ECHO === '1' });
  let agentExit: { code: number | null } | undefined;
  group.onUnexpectedExit((_name, code) => (agentExit = { code }));
  let fake: http2.Http2Server;
  let adminUrl = '';
  /** Each Session call the agent opens, answered by the behaviour at the same index (then a good hub). */
  const calls: Array<{ at: number; hello: boolean; pings: number }> = [];
  let behaviours: Array<(stream: http2.ServerHttp2Stream) => void> = [];

  const welcome = Buffer.from(
    toBinary(
      HubMessageSchema,
      create(HubMessageSchema, {
        kind: { case: 'welcome', value: { sessionId: 's-1', hubId: 'fake', protocolVersion: PROTOCOL_VERSION, pingIntervalMs: 500, accounts: [] } },
      }),
    ),
  );
  const grpcHeaders = { ':status': 200, 'content-type': 'application/grpc' };
  const endOk = (stream: http2.ServerHttp2Stream) => {
    if (!stream.destroyed) stream.end();
  };
  const send = (stream: http2.ServerHttp2Stream, bytes: Buffer, trailers: Record<string, string> = { 'grpc-status': '0' }) => {
    stream.respond(grpcHeaders, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers(trailers));
    stream.write(bytes);
    setTimeout(() => endOk(stream), 50);
  };
  const good = (stream: http2.ServerHttp2Stream) => {
    stream.respond(grpcHeaders, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.write(grpcFrame(welcome));
  };

  before(async () => {
    fake = http2.createServer();
    fake.on('session', (s) => s.on('error', () => undefined));
    fake.on('stream', (stream, headers) => {
      stream.on('error', () => undefined);
      if (headers[':path'] !== SESSION_PATH) {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12', 'grpc-message': 'not here' }, { endStream: true });
        return;
      }
      const call = { at: Date.now(), hello: false, pings: 0 };
      calls.push(call);
      let buffered = Buffer.alloc(0);
      stream.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        for (const m of splitMessages(buffered)) {
          const message = fromBinary(AgentMessageSchema, m);
          if (message.kind.case === 'hello') call.hello = true;
          if (message.kind.case === 'ping') call.pings++;
        }
      });
      const behaviour = behaviours[calls.length - 1] ?? good;
      behaviour(stream);
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    const port = (fake.address() as { port: number }).port;

    const operation = (request: Json) =>
      Buffer.from(
        toBinary(
          HubMessageSchema,
          create(HubMessageSchema, {
            kind: { case: 'operation', value: { id: `op-${rng.int(1e6)}`, account: 'nope', deadlineUnixMs: BigInt(Date.now() + 5000), request } },
          }),
        ),
      );
    behaviours = [
      (s) => send(s, grpcFrame(rng.bytes(1 + rng.int(200)))),
      (s) => send(s, grpcFrame(rng.mutate(welcome))),
      (s) => send(s, grpcFrame(welcome.subarray(0, 3), { declaredLength: welcome.length })),
      (s) => send(s, grpcFrame(rng.bytes(8), { declaredLength: 0xfffffff0 })),
      (s) => send(s, grpcFrame(welcome, { compressed: true })),
      (s) => {
        s.respond({ ...grpcHeaders, 'grpc-encoding': 'gzip' }, { waitForTrailers: true });
        s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0' }));
        s.write(grpcFrame(rng.bytes(40), { compressed: true }));
        setTimeout(() => endOk(s), 50);
      },
      (s) => s.respond({ ':status': 403, 'content-type': 'text/html' }, { endStream: true }),
      (s) => {
        s.respond({ ':status': 500 });
        s.end('<html>oops</html>');
      },
      (s) => s.close(http2.constants.NGHTTP2_PROTOCOL_ERROR),
      (s) => s.session?.goaway(http2.constants.NGHTTP2_INTERNAL_ERROR),
      (s) => s.session?.destroy(),
      (s) => s.respond({ ...grpcHeaders, 'grpc-status': '13', 'grpc-message': encodeURIComponent('ünïcode % garbage \u0000') }, { endStream: true }),
      (s) =>
        send(
          s,
          grpcFrame(
            toBinary(HubMessageSchema, create(HubMessageSchema, { kind: { case: 'refusal', value: { code: 'FUZZ', message: 'refused by the fuzzer' } } })),
          ),
        ),
      (s) =>
        send(
          s,
          Buffer.concat([
            grpcFrame(welcome),
            grpcFrame(operation({ case: undefined })),
            grpcFrame(operation({ case: 'apply', value: { manifest: rng.bytes(30) } })),
          ]),
        ),
      (s) => send(s, grpcFrame(Buffer.alloc(GRPC_MAX + 16, 0x42))),
      // Accepts the call, then never says a word: the agent must give up on a hub that never welcomes it.
      (s) => s.respond(grpcHeaders),
    ];

    const configPath = join(dir, 'agent.yaml');
    writeFileSync(
      configPath,
      toYaml({
        agent: { id: 'fuzz-agent' },
        clouddriver: { grpc: `127.0.0.1:${port}`, insecure: true, keepAliveHeartbeatSeconds: 1, backoff: { initialMs: 100, maxMs: 400 } },
        server: { host: '127.0.0.1', port: 0 },
        kubernetes: { accounts: [] },
        logging: { format: 'json' },
      }),
    );
    group.start('agent', ['agent', '--config', configPath]);
    const started = await waitFor(() => jsonLines(group.output('agent')).find((l) => l.msg === 'agent started'), {
      timeoutMs: START_TIMEOUT_MS,
      what: 'the agent to start',
    });
    adminUrl = `http://127.0.0.1:${started.admin}`;
  });

  after(async () => {
    await group.stopAll();
    await new Promise<void>((resolve) => fake?.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  test('each malformed answer: the agent stays up, logs a clear error, and dials again; then it connects', async () => {
    for (let i = 0; i < behaviours.length; i++) {
      // The last behaviour never answers: the agent waits for its welcome timeout (15 s at least).
      await waitFor(() => calls.length > i + 1, {
        timeoutMs: i === behaviours.length - 1 ? 40_000 : 20_000,
        what: `the agent to dial again after behaviour ${i}`,
      });
      const health = await fetch(`${adminUrl}/health`);
      assert.ok(health.status === 200 || health.status === 503, `the agent answers /health after behaviour ${i}`);
    }
    await waitFor(
      () => jsonLines(group.output('agent')).some((l) => l.msg === 'connected to the hub' && l.sessionId === 's-1' && calls.length > behaviours.length),
      { timeoutMs: 20_000, what: 'the agent to connect to a well-behaved hub' },
    );
    await waitFor(() => calls[calls.length - 1]!.pings > 0, { timeoutMs: 10_000, what: 'pings on the good session' });
    assert.ok(
      calls.slice(behaviours.length).every((c) => c.hello),
      'the calls to the good hub start with a hello',
    );
    const ended = jsonLines(group.output('agent')).filter((l) => l.msg === 'hub session ended; reconnecting');
    assert.ok(ended.length >= behaviours.length - 3, `the agent says why each session ended (${ended.length})`);
    for (const line of ended) assert.ok(typeof line.reason === 'string' && line.reason.length > 0, JSON.stringify(line));
    assert.ok(
      ended.some((l) => /no welcome from the hub within/.test(l.reason)),
      'a hub that never answers the hello is given up on, with that reason',
    );
    assert.equal(agentExit, undefined, 'the agent process is still running');
  });
});

// ------------------------------------------------------------------------------------------------
// The object size limit with the real sim, agent and hub

describe('an object larger than the limit, from a real cluster', { timeout: 180_000 }, () => {
  let system: TestSystem;

  before(async () => {
    system = await new TestSystem({ clusters: 1, recordAgentTraffic: true, hub: { limits: { maxObjectBytes: 4096 } } }).start();
  });

  after(async () => {
    await system?.stop();
  });

  test('is reported per object and skipped without dropping the stream; objects around it arrive', async () => {
    const sim = system.sim('cluster-1');
    const cm = (name: string, size: number) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'default' },
      data: { blob: 'x'.repeat(size) },
    });
    for (const [name, size] of [
      ['small-before', 10],
      ['too-big', 20_000],
      ['small-after', 10],
    ] as const) {
      assert.equal((await simRequest(sim, 'POST', '/api/v1/namespaces/default/configmaps', cm(name, size))).status, 201);
    }
    // One that grows past the limit: its older, smaller version must not stay in the cache.
    assert.equal((await simRequest(sim, 'POST', '/api/v1/namespaces/default/configmaps', cm('grows', 10))).status, 201);
    await waitFor(async () => (await system.rest('/manifests/cluster-1/default/configMap%20grows')).status === 200, {
      timeoutMs: 20_000,
      what: 'grows at the hub',
    });
    assert.equal(
      (await simRequest(sim, 'PATCH', '/api/v1/namespaces/default/configmaps/grows', { data: { blob: 'y'.repeat(20_000) } }, 'application/merge-patch+json'))
        .status,
      200,
    );
    assert.equal((await simRequest(sim, 'POST', '/api/v1/namespaces/default/configmaps', cm('last', 10))).status, 201);

    await waitFor(async () => (await system.rest('/manifests/cluster-1/default/configMap%20last')).status === 200, {
      timeoutMs: 20_000,
      what: 'the last object at the hub',
    });
    for (const name of ['small-before', 'small-after', 'last'])
      assert.equal((await system.rest(`/manifests/cluster-1/default/configMap%20${name}`)).status, 200, name);
    assert.equal((await system.rest('/manifests/cluster-1/default/configMap%20too-big')).status, 404);
    await waitFor(async () => (await system.rest('/manifests/cluster-1/default/configMap%20grows')).status === 404, {
      timeoutMs: 20_000,
      what: 'the grown object to leave the cache',
    });

    const reports = jsonLines(system.group.output('hub')).filter((l) => l.code === 'OBJECT_TOO_LARGE');
    assert.ok(
      reports.some((l) => l.name === 'too-big'),
      'the hub logs the skipped object by name',
    );
    assert.ok(
      reports.some((l) => l.name === 'grows'),
      'and the one that grew',
    );
    assert.match(reports[0].msg, /more than the limit of 4096/);
    // The stream was not dropped: one connection, one session, no reconnect.
    assert.equal(system.relay!.connections.length, 1, 'one connection from the agent');
    assert.ok(!jsonLines(system.group.output('agent')).some((l) => l.msg === 'hub session ended; reconnecting'), 'the session never ended');
  });
});
