import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { silentLogger } from '../../common/logger.ts';
import { waitFor } from '../../common/time.ts';
import { AccountAcceptanceSchema, AccountInfoSchema, type AccountInfo } from '../../protocol/index.ts';
import { accountSchema, type AccountConfig } from '../config.ts';
import { AccountRoster } from './account-roster.ts';
import { FakeRuntime } from './testing/fake-runtime.ts';

const FAST = { initialMs: 5, maxMs: 20, multiplier: 2, jitter: 0, resetAfterMs: Number.POSITIVE_INFINITY };
const WAIT = { timeoutMs: 5000 };

function account(name: string, extra: Record<string, unknown> = {}): AccountConfig {
  return accountSchema.parse({ name, kubeconfigFile: `/kubeconfigs/${name}.yaml`, ...extra });
}

/** A roster of fake runtimes whose clusters answer as `reachable` says, recording every declaration. */
function setUp(reachable: Record<string, boolean | string> = {}) {
  const runtimes: FakeRuntime[] = [];
  const declared: Array<{ upserted: AccountInfo[]; removed: string[] }> = [];
  const stopping: string[] = [];
  const roster = new AccountRoster<FakeRuntime>({
    logger: silentLogger(),
    initConcurrency: 2,
    initBackoff: FAST,
    refusalBackoff: FAST,
    createRuntime: (config) => {
      const runtime = new FakeRuntime(config, () => reachable[config.name] ?? true);
      runtimes.push(runtime);
      return runtime;
    },
    declare: (upserted, removed) => declared.push({ upserted, removed }),
    onStopping: (name) => stopping.push(name),
  });
  const upserts = (name: string) => declared.flatMap((d) => d.upserted.filter((u) => u.name === name));
  const removals = (name: string) => declared.filter((d) => d.removed.includes(name)).length;
  return { roster, runtimes, declared, stopping, reachable, upserts, removals };
}

describe('AccountRoster', () => {
  test('an account whose cluster cannot be reached is declared as unreachable with the reason, and once reached, with its cluster', async () => {
    const t = setUp({ a: true, b: 'dial tcp 10.0.0.9:443: connect: no route to host' });
    await t.roster.startInitial([account('a'), account('b')]);
    const hello = t.roster.declarations();
    assert.deepEqual(
      hello.map((d) => [d.name, d.unreachableReason]),
      [
        ['a', ''],
        ['b', 'dial tcp 10.0.0.9:443: connect: no route to host'],
      ],
    );
    assert.equal(hello[0]!.cluster?.kubeSystemUid, 'uid-a');

    t.reachable.b = true;
    const reached = await waitFor(() => t.upserts('b').find((d) => d.unreachableReason === ''), WAIT);
    assert.equal(reached.cluster?.kubeSystemUid, 'uid-b');
    await t.roster.close();
  });

  test('a new reason an account cannot be reached is declared; the same reason again is not', async () => {
    const t = setUp({ a: 'connection refused' });
    await t.roster.startInitial([account('a')]);
    // Retries failing the same way (the first failure is in the hello) declare nothing new.
    await waitFor(() => t.runtimes[0]!.inits >= 4, WAIT);
    assert.equal(t.upserts('a').length, 0);
    t.reachable.a = 'certificate signed by unknown authority';
    const declared = await waitFor(() => t.upserts('a').find((d) => d.unreachableReason === 'certificate signed by unknown authority'), WAIT);
    assert.ok(declared);
    await t.roster.close();
  });

  test('a reload starts added accounts, stops and releases removed ones, restarts changed ones, and leaves the rest alone', async () => {
    const t = setUp();
    await t.roster.startInitial([account('keep'), account('drop'), account('change')]);
    const [keep, drop, change] = t.runtimes;
    const result = t.roster.setFileAccounts([account('keep'), account('change', { namespaces: ['team-a'] }), account('add')]);
    assert.deepEqual(result, { added: ['add'], removed: ['drop'], restarted: ['change'] });

    assert.equal(drop!.closed, true);
    assert.equal(t.removals('drop'), 1, 'the removed account is released at the hub');
    assert.equal(change!.closed, true, 'the changed account restarts');
    assert.equal(t.removals('change'), 1);
    assert.deepEqual(t.stopping.sort(), ['change', 'drop']);
    assert.equal(keep!.closed, false, 'an unchanged account is not touched');
    assert.equal(keep!.inits, 1);

    await waitFor(() => t.upserts('add').length > 0 && t.upserts('change').length > 0, WAIT);
    assert.deepEqual([...t.roster.accounts.keys()].sort(), ['add', 'change', 'keep']);
    assert.deepEqual(t.roster.accounts.get('change')!.config.namespaces, ['team-a']);
    assert.equal(t.roster.setFileAccounts([account('keep'), account('change', { namespaces: ['team-a'] }), account('add')]).added.length, 0);
    await t.roster.close();
  });

  test("the hub's dynamic accounts run beside the file's; the file's wins a name both define", async () => {
    const t = setUp();
    await t.roster.startInitial([account('static')]);
    const first = t.roster.setHubAccounts([account('dynamic'), account('static', { namespaces: ['other'] })]);
    assert.deepEqual(first, { added: ['dynamic'], removed: [], restarted: [] });
    assert.equal(t.roster.source('dynamic'), 'hub');
    assert.equal(t.roster.source('static'), 'file');
    assert.deepEqual(t.roster.accounts.get('static')!.config.namespaces, []);

    // The hub's set no longer lists it: it stops.
    assert.deepEqual(t.roster.setHubAccounts([]), { added: [], removed: ['dynamic'], restarted: [] });
    // The file drops its account: the hub's definition of the same name takes over (a restart with the new source).
    t.roster.setHubAccounts([account('static', { namespaces: ['other'] })]);
    assert.deepEqual(t.roster.setFileAccounts([]), { added: [], removed: [], restarted: ['static'] });
    assert.equal(t.roster.source('static'), 'hub');
    await t.roster.close();
  });

  test('a refused account is reported as refused and declared again with backoff until the hub accepts it', async () => {
    const t = setUp();
    await t.roster.startInitial([account('a')]);
    t.roster.onAcceptance(
      create(AccountAcceptanceSchema, {
        account: 'a',
        accepted: false,
        refusalCode: 'ACCOUNT_OWNED_BY_OTHER_CLUSTER',
        refusalMessage: 'account a is registered for cluster https://old.example',
      }),
    );
    const standing = t.roster.standing('a');
    assert.equal(standing?.state, 'refused');
    assert.equal(standing?.state === 'refused' ? standing.code : '', 'ACCOUNT_OWNED_BY_OTHER_CLUSTER');
    await waitFor(() => t.upserts('a').length >= 1, WAIT);

    t.roster.onAcceptance(create(AccountAcceptanceSchema, { account: 'a', accepted: true, caching: true }));
    assert.deepEqual(t.roster.standing('a'), { state: 'accepted', caching: true });
    await t.roster.close();
  });

  test('thousands of accounts from the hub reach their clusters at most initConcurrency at a time, as at start', async () => {
    let reaching = 0;
    let most = 0;
    let open: () => void = () => undefined;
    let gate = new Promise<void>((resolve) => (open = resolve));
    class GatedRuntime extends FakeRuntime {
      override async init(): Promise<void> {
        reaching++;
        most = Math.max(most, reaching);
        await gate;
        reaching--;
        return super.init();
      }
    }
    const declared: string[] = [];
    const roster = new AccountRoster<FakeRuntime>({
      logger: silentLogger(),
      initConcurrency: 3,
      initBackoff: FAST,
      refusalBackoff: FAST,
      createRuntime: (config) => new GatedRuntime(config, () => true),
      declare: (upserted) => declared.push(...upserted.map((u) => u.name)),
      onStopping: () => undefined,
    });
    const names = Array.from({ length: 2000 }, (_, i) => `dyn-${i}`);
    roster.setHubAccounts(names.map((name) => account(name)));
    await waitFor(() => reaching === 3, WAIT);
    open();
    gate = Promise.resolve();
    await waitFor(() => declared.length === names.length, WAIT);
    assert.equal(most, 3);
    await roster.close();
  });

  test("a hub definition the agent cannot run is declared with why, withdrawn once the hub stops sending it, and never declared over a file account's name", async () => {
    const t = setUp();
    await t.roster.startInitial([account('file')]);
    const invalid = (name: string, reason = 'the dynamic account definition is invalid: futureKey: unknown key') =>
      create(AccountInfoSchema, { name, unreachableReason: reason });

    t.roster.setHubAccounts([], [invalid('future'), invalid('file')]);
    assert.deepEqual(
      t.upserts('future').map((d) => d.unreachableReason),
      ['the dynamic account definition is invalid: futureKey: unknown key'],
    );
    assert.deepEqual(t.upserts('file'), [], "the file's account is not declared unreachable (the hub would stop serving it)");
    assert.deepEqual(
      t.roster.declarations().map((d) => d.name),
      ['file', 'future'],
      'a hello after a reconnect declares it again',
    );

    // The same set again (after every welcome) declares nothing new; the definition deleted at the hub is withdrawn.
    t.roster.setHubAccounts([], [invalid('future'), invalid('file')]);
    assert.equal(t.upserts('future').length, 1);
    t.roster.setHubAccounts([], []);
    assert.equal(t.removals('future'), 1, 'withdrawn: the hub can finish deleting the definition');
    assert.equal(t.removals('file'), 0);
    assert.deepEqual(
      t.roster.declarations().map((d) => d.name),
      ['file'],
    );

    // A running dynamic account whose new definition cannot run stops, and is declared with why.
    t.roster.setHubAccounts([account('dyn')]);
    await waitFor(() => t.upserts('dyn').find((d) => d.unreachableReason === ''), WAIT);
    t.roster.setHubAccounts([], [invalid('dyn')]);
    assert.equal(t.removals('dyn'), 1);
    assert.equal(t.upserts('dyn').at(-1)?.unreachableReason, 'the dynamic account definition is invalid: futureKey: unknown key');
    await t.roster.close();
  });
});
