import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { Metadata } from '@grpc/grpc-js';
import { Errors, ScaleAgentError } from '../../common/errors.ts';
import { createLogger, silentLogger } from '../../common/logger.ts';
import { waitFor } from '../../common/time.ts';
import { AgentMessageSchema, PROTOCOL_VERSION, type AccountAcceptance, type AccountInfoSchema, type HubMessage } from '../../protocol/index.ts';
import { DEPLOYMENTS, accountRecord } from '../store/testing/fixtures.ts';
import { UNREACHABLE_REASON_MAX_LENGTH, type AccountRecord, type AccountStore, type FeedInfo, type IngestStore } from '../store/types.ts';
import { CachingLeases, RENEWALS_PER_LEASE } from '../replicas/caching-leases.ts';
import { ManualClock, MemoryAssignmentStore } from '../replicas/testing/memory-assignments.ts';
import { IdentityAuthorizer } from './identities.ts';
import { SessionHandler, type SessionCall } from './session-handler.ts';
import { SessionRegistry } from './session-registry.ts';
import { sessionSummaries } from './session-summaries.ts';

const WAIT = { timeoutMs: 5_000, intervalMs: 5 };
/** Retries fast enough for a test, without jitter. */
const FAST_RETRY = { initialMs: 5, maxMs: 20, multiplier: 2, jitter: 0, resetAfterMs: Number.POSITIVE_INFINITY };
const PINO_ERROR_LEVEL = 50;

type StoreCall = 'resumePoints' | 'setAccountStatus' | 'upsertAccount';

/** The account store in memory; `failures` makes the next calls of a method fail as a broken database does. */
class FlakyAccountStore implements AccountStore, Pick<IngestStore, 'resumePoints'> {
  readonly accounts = new Map<string, AccountRecord>();
  readonly resume = new Map<string, Array<{ feed: FeedInfo; resourceVersion: string }>>();
  readonly failures: Record<StoreCall, number> = { resumePoints: 0, setAccountStatus: 0, upsertAccount: 0 };
  readonly calls: Record<StoreCall, number> = { resumePoints: 0, setAccountStatus: 0, upsertAccount: 0 };

  private fail(call: StoreCall): void {
    this.calls[call]++;
    if (this.failures[call] <= 0) return;
    this.failures[call]--;
    throw new ScaleAgentError(Errors.STORE_ERROR, `store ${call} failed: connection lost`);
  }

  async getAccount(name: string): Promise<AccountRecord | undefined> {
    return this.accounts.get(name);
  }

  async listAccounts(): Promise<AccountRecord[]> {
    return [...this.accounts.values()];
  }

  async upsertAccount(account: Omit<AccountRecord, 'registeredAt' | 'lastSeenAt'>, now: number): Promise<void> {
    this.fail('upsertAccount');
    this.accounts.set(account.name, { ...account, registeredAt: this.accounts.get(account.name)?.registeredAt ?? now, lastSeenAt: now });
  }

  async setAccountStatus(name: string, status: AccountRecord['status'], agentId: string | null, hubId: string | null, now: number): Promise<void> {
    this.fail('setAccountStatus');
    const record = this.accounts.get(name);
    if (record) this.accounts.set(name, { ...record, status, agentId, hubId, lastSeenAt: now });
  }

  async deleteAccount(name: string): Promise<boolean> {
    return this.accounts.delete(name);
  }

  async resumePoints(account: string): Promise<Array<{ feed: FeedInfo; resourceVersion: string }>> {
    this.fail('resumePoints');
    return this.resume.get(account) ?? [];
  }
}

/** The server side of a Session call, as the handler uses it: messages in as bytes, messages out as written. */
class FakeSessionCall extends EventEmitter {
  readonly written: HubMessage[] = [];
  readonly metadata = new Metadata();
  writableEnded = false;

  constructor(private readonly peer: string) {
    super();
  }

  getPeer(): string {
    return this.peer;
  }

  getAuthContext(): object {
    return {};
  }

  write(message: HubMessage): boolean {
    this.written.push(message);
    return true;
  }

  end(): void {
    this.writableEnded = true;
  }

  send(kind: AgentMessageKind): void {
    this.emit('data', Buffer.from(toBinary(AgentMessageSchema, create(AgentMessageSchema, { kind }))));
  }

  /** The acceptances the hub sent in welcomes and account update replies, oldest first. */
  acceptances(): AccountAcceptance[] {
    return this.written.flatMap((m) => (m.kind.case === 'welcome' || m.kind.case === 'accountUpdateReply' ? m.kind.value.accounts : []));
  }

  refusal(): { code: string; message: string } | undefined {
    const found = this.written.find((m) => m.kind.case === 'refusal');
    return found?.kind.case === 'refusal' ? found.kind.value : undefined;
  }
}

type AgentMessageKind = NonNullable<MessageInitShape<typeof AgentMessageSchema>['kind']>;

function accountInfo(name: string): MessageInitShape<typeof AccountInfoSchema> {
  return { name, cluster: { apiServerHost: 'https://one.example', caFingerprint: 'ab', kubeSystemUid: 'uid-one' }, kubernetesVersion: 'v1.31.0' };
}

function hello(agentId: string, accounts: string[]): AgentMessageKind {
  return { case: 'hello', value: { agentId, agentVersion: 'test', protocolVersion: PROTOCOL_VERSION, accounts: accounts.map(accountInfo) } };
}

/** A replica of its own (`hubId`) on a shared database (`store`), with caching leases when `assignments` is given. */
interface ReplicaSetUp {
  hubId?: string;
  store?: FlakyAccountStore;
  assignments?: MemoryAssignmentStore;
  clock?: ManualClock;
}

const LEASE_MS = 15_000;

function setUp(replica: ReplicaSetUp = {}) {
  const store = replica.store ?? new FlakyAccountStore();
  const registry = new SessionRegistry();
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const hubId = replica.hubId ?? 'hub-1';
  const leases =
    replica.assignments === undefined
      ? undefined
      : new CachingLeases({ store: replica.assignments, hubId, leaseMs: LEASE_MS, logger: silentLogger(), clock: replica.clock?.now });
  const handler = new SessionHandler({
    hubId,
    store,
    registry,
    logger: createLogger({ level: 'debug', destination }),
    pingIntervalMs: 60_000,
    missedPingsBeforeDead: 3,
    limits: { maxBatchBytes: 1 << 20, maxBatchChanges: 1000, maxObjectBytes: 1 << 20, maxUnackedBatches: 4 },
    authorizer: new IdentityAuthorizer([], true),
    storeRetry: FAST_RETRY,
    leases,
  });
  leases?.setHost(handler.cachingHost());
  const connect = async (agentId: string, accounts: string[]): Promise<FakeSessionCall> => {
    const call = new FakeSessionCall(`peer-${agentId}`);
    handler.handle(call as unknown as SessionCall);
    call.send(hello(agentId, accounts));
    await waitFor(() => call.written.length > 0, { ...WAIT, what: `the hub to answer ${agentId}'s hello` });
    return call;
  };
  const errorsLogged = (msg: string) => logs.filter((l) => l.level === PINO_ERROR_LEVEL && l.msg === msg);
  return { store, registry, logs, connect, errorsLogged, leases };
}

test('a handover whose resume points cannot be read is logged and retried until the standby learns it caches the account', async () => {
  const { store, registry, connect, errorsLogged } = setUp();
  store.resume.set('shared', [{ feed: DEPLOYMENTS, resourceVersion: '42' }]);
  const active = await connect('agent-a', ['shared']);
  const standby = await connect('agent-b', ['shared']);
  assert.equal(active.acceptances()[0]?.caching, true);
  assert.equal(standby.acceptances()[0]?.caching, false);

  // The active replica goes away while the store fails: reading the resume points for the handover rejects twice.
  store.failures.resumePoints = 2;
  const readsBefore = store.calls.resumePoints;
  active.emit('cancelled');

  const handedOver = await waitFor(() => standby.acceptances().find((a) => a.caching), { ...WAIT, what: 'the handover to reach the standby' });
  assert.equal(handedOver.account, 'shared');
  assert.deepEqual(
    handedOver.resume.map((p) => [p.feed?.kind, p.resourceVersion]),
    [['Deployment', '42']],
  );
  assert.equal(store.calls.resumePoints - readsBefore, 3);
  const failures = errorsLogged('cannot hand caching of an account over to another agent replica; retrying');
  assert.equal(failures.length, 2);
  assert.equal(failures[0]!.account, 'shared');
  assert.equal(failures[0]!.agentId, 'agent-b');
  assert.match(String(failures[0]!.err), /connection lost/);
  assert.equal(registry.cachingSession('shared')?.agentId, 'agent-b');
});

test('a handover stops retrying once the standby is gone', async () => {
  const { store, registry, connect, errorsLogged } = setUp();
  const active = await connect('agent-a', ['shared']);
  const standby = await connect('agent-b', ['shared']);
  store.failures.resumePoints = Number.POSITIVE_INFINITY;
  active.emit('cancelled');
  await waitFor(() => errorsLogged('cannot hand caching of an account over to another agent replica; retrying').length > 0, {
    ...WAIT,
    what: 'the failed handover to be logged',
  });
  standby.emit('cancelled');
  const reads = store.calls.resumePoints;
  await new Promise((resolve) => setTimeout(resolve, FAST_RETRY.maxMs * 5));
  assert.ok(store.calls.resumePoints <= reads + 1, 'at most the retry already scheduled reads again');
  assert.equal(registry.cachingSession('shared'), undefined);
  assert.equal(
    standby.acceptances().some((a) => a.caching),
    false,
  );
});

test('an account nobody serves any more is marked disconnected even when the store first fails', async () => {
  const { store, connect, errorsLogged } = setUp();
  const call = await connect('agent-a', ['solo']);
  assert.equal(store.accounts.get('solo')?.status, 'connected');
  store.failures.setAccountStatus = 1;
  call.emit('cancelled');
  await waitFor(() => store.accounts.get('solo')?.status === 'disconnected', { ...WAIT, what: 'the account to be marked disconnected' });
  assert.equal(store.accounts.get('solo')?.agentId, 'agent-a');
  const failures = errorsLogged('cannot mark an account disconnected; retrying');
  assert.equal(failures.length, 1);
  assert.equal(failures[0]!.account, 'solo');
});

test('a hello whose accounts cannot be registered is refused and leaves no session behind to hold them', async () => {
  const { store, registry, connect } = setUp();
  // The first account is attached to the session before its registration fails.
  store.failures.upsertAccount = 1;
  const refused = await connect('agent-a', ['first', 'second']);
  assert.equal(refused.refusal()?.code, Errors.STORE_ERROR.code);
  assert.equal(refused.writableEnded, true);
  assert.equal(registry.all().length, 0);
  assert.equal(registry.cachingSession('first'), undefined);

  // The agent's next attempt (or another replica) caches the account.
  const next = await connect('agent-a', ['first', 'second']);
  assert.deepEqual(
    next.acceptances().map((a) => [a.account, a.accepted, a.caching]),
    [
      ['first', true, true],
      ['second', true, true],
    ],
  );
});

test('an account update that cannot be registered ends the session, so that the agent declares its accounts again', async () => {
  const { store, registry, connect } = setUp();
  const call = await connect('agent-a', ['one']);
  store.failures.upsertAccount = 1;
  call.send({ case: 'accountUpdate', value: { upserted: [accountInfo('two')], removed: [] } });
  await waitFor(() => call.refusal(), { ...WAIT, what: 'the session to be refused' });
  assert.equal(call.refusal()?.code, Errors.STORE_ERROR.code);
  assert.equal(call.writableEnded, true);
  assert.equal(registry.all().length, 0);
  assert.equal(registry.cachingSession('two'), undefined);
  await waitFor(() => store.accounts.get('one')?.status === 'disconnected', { ...WAIT, what: 'the account to be marked disconnected' });
});

// ---- caching across hub replicas: the database (an in-memory AssignmentStore) decides who caches

/** Two hub replicas on one database: their own registries and leases, one account store, one assignment store, one clock. */
function twoReplicas() {
  const store = new FlakyAccountStore();
  const assignments = new MemoryAssignmentStore();
  const clock = new ManualClock();
  const one = setUp({ hubId: 'hub-1', store, assignments, clock });
  const two = setUp({ hubId: 'hub-2', store, assignments, clock });
  return { store, assignments, clock, one: { ...one, leases: one.leases! }, two: { ...two, leases: two.leases! } };
}

const cachingOf = (call: FakeSessionCall, account: string) =>
  call
    .acceptances()
    .filter((a) => a.account === account)
    .map((a) => a.caching);

test("across replicas one session caches an account; the other replica's session stands by", async () => {
  const { assignments, one, two } = twoReplicas();
  const active = await one.connect('agent-a', ['shared']);
  const standby = await two.connect('agent-b', ['shared']);
  assert.deepEqual(cachingOf(active, 'shared'), [true]);
  assert.deepEqual(cachingOf(standby, 'shared'), [false]);
  assert.equal(one.registry.cachingSession('shared')?.agentId, 'agent-a');
  assert.equal(two.registry.cachingSession('shared'), undefined);
  assert.equal(two.registry.operationSession('shared')?.agentId, 'agent-b', 'a standby still runs operations');
  const assignment = await assignments.getAssignment('shared');
  assert.equal(assignment?.hubId, 'hub-1');
  assert.equal(assignment?.agentId, 'agent-a');
});

test("a standby's hello leaves the account row naming the caching session's agent and replica", async () => {
  const { store, one, two } = twoReplicas();
  await one.connect('agent-a', ['shared']);
  await two.connect('agent-b', ['shared']);
  const row = await store.getAccount('shared');
  assert.equal(row?.agentId, 'agent-a');
  assert.equal(row?.hubId, 'hub-1');
  assert.equal(row?.status, 'connected');
});

test("when the caching session ends, the other replica's standby takes over at its next tick, with the resume points", async () => {
  const { store, assignments, one, two } = twoReplicas();
  store.resume.set('shared', [{ feed: DEPLOYMENTS, resourceVersion: '42' }]);
  const active = await one.connect('agent-a', ['shared']);
  const standby = await two.connect('agent-b', ['shared']);
  await two.leases.tick();
  assert.deepEqual(cachingOf(standby, 'shared'), [false], 'no takeover while the holder holds the lease');

  active.emit('cancelled');
  // Replica one gives the lease back, then records that it serves the account no more.
  await waitFor(async () => (await assignments.getAssignment('shared'))?.leaseExpiresAt === 0, { ...WAIT, what: 'replica one to give the lease back' });
  await waitFor(() => store.accounts.get('shared')?.status === 'disconnected', { ...WAIT, what: 'replica one to mark the account disconnected' });
  await two.leases.tick();
  const handedOver = await waitFor(() => standby.acceptances().find((a) => a.caching), { ...WAIT, what: 'the takeover to reach the standby' });
  assert.deepEqual(
    handedOver.resume.map((p) => [p.feed?.kind, p.resourceVersion]),
    [['Deployment', '42']],
  );
  assert.equal(two.registry.cachingSession('shared')?.agentId, 'agent-b');
  assert.equal(two.leases.epoch('shared', two.registry.cachingSession('shared')!.id), 2);
  await waitFor(() => store.accounts.get('shared')?.hubId === 'hub-2' && store.accounts.get('shared')?.status === 'connected', {
    ...WAIT,
    what: 'the account row to name the new cacher',
  });
});

test('a replica whose lease was taken over tells its agent to stop caching; the session stays as a standby', async () => {
  const { clock, one, two } = twoReplicas();
  const active = await one.connect('agent-a', ['shared']);
  const standby = await two.connect('agent-b', ['shared']);
  // Replica one cannot renew for longer than the lease (a long pause): replica two takes over.
  clock.advance(LEASE_MS);
  await two.leases.tick();
  await waitFor(() => cachingOf(standby, 'shared').includes(true), { ...WAIT, what: 'the takeover' });
  clock.advance(LEASE_MS / RENEWALS_PER_LEASE);
  await one.leases.tick();
  assert.deepEqual(cachingOf(active, 'shared'), [true, false]);
  assert.equal(one.registry.cachingSession('shared'), undefined);
  assert.equal(one.registry.operationSession('shared')?.agentId, 'agent-a');
});

test('on one replica with leases, caching passes to the next session when the caching one ends, as without them', async () => {
  const assignments = new MemoryAssignmentStore();
  const { registry, connect, leases } = setUp({ assignments });
  const first = await connect('agent-a', ['shared']);
  const second = await connect('agent-b', ['shared']);
  assert.deepEqual(cachingOf(first, 'shared'), [true]);
  assert.deepEqual(cachingOf(second, 'shared'), [false]);
  first.emit('cancelled');
  await waitFor(() => cachingOf(second, 'shared').includes(true), { ...WAIT, what: 'the handover' });
  assert.equal(registry.cachingSession('shared')?.agentId, 'agent-b');
  assert.equal(leases!.epoch('shared', registry.cachingSession('shared')!.id), 2);
});

test('an account the agent cannot reach is registered as unreachable, kept, never cached, and cleared once the agent reaches it', async () => {
  const { store, registry, connect } = setUp();
  const agent = await connect('agent-u', []);
  agent.send({
    case: 'accountUpdate',
    value: { upserted: [{ name: 'dark', unreachableReason: 'dial tcp 10.0.0.9:443: i/o timeout', permissions: [{ access: 'READ', roles: ['ops'] }] }] },
  });
  await waitFor(() => agent.acceptances().find((a) => a.account === 'dark'), { ...WAIT, what: 'the reply to the update' });
  const acceptance = agent.acceptances().find((a) => a.account === 'dark')!;
  assert.equal(acceptance.accepted, true);
  assert.equal(acceptance.caching, false, 'nothing to cache from a cluster nobody reaches');
  const record = store.accounts.get('dark')!;
  assert.equal(record.status, 'connected', 'kept: the sweep removes only disconnected accounts');
  assert.equal(record.unreachableReason, 'dial tcp 10.0.0.9:443: i/o timeout');
  assert.deepEqual(record.permissions, { READ: ['ops'] });
  assert.equal(registry.operationSession('dark'), undefined, 'no operation goes to an agent that cannot reach the cluster');

  // Reached: the same account now names its cluster; no refusal for "another cluster", the reason is gone.
  agent.send({ case: 'accountUpdate', value: { upserted: [accountInfo('dark')] } });
  await waitFor(() => store.accounts.get('dark')?.unreachableReason === undefined, { ...WAIT, what: 'the reason to clear' });
  assert.equal(store.accounts.get('dark')!.cluster.kubeSystemUid, 'uid-one');
  assert.equal(
    agent
      .acceptances()
      .filter((a) => a.account === 'dark')
      .at(-1)?.caching,
    true,
  );
  assert.equal(registry.cachingSession('dark')?.agentId, 'agent-u');
});

test('an unreachable declaration keeps what is known of the cluster and does not disturb a session that serves the account', async () => {
  const { store, registry, connect } = setUp();
  const serving = await connect('agent-a', ['shared']);
  assert.equal(serving.acceptances()[0]?.caching, true);
  const lost = await connect('agent-b', []);
  lost.send({ case: 'accountUpdate', value: { upserted: [{ name: 'shared', unreachableReason: 'connection refused' }] } });
  await waitFor(() => lost.acceptances().find((a) => a.account === 'shared'), { ...WAIT, what: 'the reply' });
  assert.equal(store.accounts.get('shared')!.unreachableReason, undefined, 'another session serves it: the row stays as that session wrote it');
  assert.equal(registry.cachingSession('shared')?.agentId, 'agent-a');

  // The serving agent goes: the account is recorded at once for the one that cannot reach the cluster (its
  // agent declares a reason only when it changes, so waiting for it would let the grace period sweep the
  // account), with its reason, keeping the cluster's identity.
  serving.emit('cancelled');
  await waitFor(() => store.accounts.get('shared')?.unreachableReason === 'connection refused', { ...WAIT, what: 'the reason' });
  const record = store.accounts.get('shared')!;
  assert.equal(record.status, 'connected', 'kept: the agent that remains is configured for it');
  assert.equal(record.agentId, 'agent-b');
  assert.equal(record.cluster.kubeSystemUid, 'uid-one');
  assert.equal(record.kubernetesVersion, 'v1.31.0');

  // Its session ends: nobody serves the account any more, so it is disconnected (and swept after the grace period).
  lost.emit('cancelled');
  await waitFor(() => store.accounts.get('shared')?.status === 'disconnected', { ...WAIT, what: 'disconnected after the unreachable session ended' });
});

test('a megabyte-long unreachable reason is cut to the bound before it is stored or logged, for each of many accounts', async () => {
  const { store, logs, connect } = setUp();
  const agent = await connect('agent-loud', []);
  const reason = 'x'.repeat(1024 * 1024);
  const names = ['loud-1', 'loud-2', 'loud-3'];
  agent.send({ case: 'accountUpdate', value: { upserted: names.map((name) => ({ name, unreachableReason: reason })) } });
  await waitFor(() => names.every((name) => agent.acceptances().some((a) => a.account === name)), { ...WAIT, what: 'the replies' });
  for (const name of names) assert.equal(store.accounts.get(name)?.unreachableReason?.length, UNREACHABLE_REASON_MAX_LENGTH);
  const logged = logs.filter((l) => l.msg === "the agent cannot reach the account's cluster");
  assert.equal(logged.length, names.length);
  for (const line of logged) assert.equal((line.reason as string).length, UNREACHABLE_REASON_MAX_LENGTH);
});

test("the status page's summaries: each session with what it caches, stands by for, cannot reach and was refused", async () => {
  const { store, registry, connect } = setUp();
  // "taken" is registered for another cluster: an agent offering it for its own is refused.
  await store.upsertAccount(accountRecord('taken', { agentId: 'agent-x' }), 1);
  await connect('agent-a', ['shared']);
  const standby = await connect('agent-b', ['shared', 'taken']);
  standby.send({ case: 'accountUpdate', value: { upserted: [{ name: 'dark', unreachableReason: 'dial tcp 10.0.0.9:443: i/o timeout' }] } });
  await waitFor(() => standby.acceptances().some((a) => a.account === 'dark'), { ...WAIT, what: 'the reply to the update' });

  const [a, b] = sessionSummaries(registry);
  assert.deepEqual([a?.agentId, a?.accounts, a?.caching, a?.refused], ['agent-a', ['shared'], ['shared'], []]);
  assert.equal(a?.peer, 'peer-agent-a');
  assert.deepEqual([b?.agentId, b?.accounts, b?.caching], ['agent-b', ['shared'], []]);
  assert.deepEqual(b?.unreachable, [{ account: 'dark', reason: 'dial tcp 10.0.0.9:443: i/o timeout' }]);
  assert.deepEqual(
    b?.refused.map((r) => [r.account, r.code]),
    [['taken', Errors.ACCOUNT_OWNED_BY_OTHER_CLUSTER.code]],
  );

  // The agent stops declaring the name: the refusal goes with it.
  standby.send({ case: 'accountUpdate', value: { removed: ['taken'] } });
  await waitFor(() => sessionSummaries(registry)[1]?.refused.length === 0, { ...WAIT, what: 'the refusal to be forgotten' });
});
