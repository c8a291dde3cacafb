// SQLite serves one hub: a second replica (another hub.id) on the same file is refused at start while
// the first is live, with an error that names it and points to PostgreSQL or MySQL. A replica that
// stopped cleanly removed its row, so the next starts at once (the demo run twice in a row); one that
// was killed leaves its row, which stops a second replica only until it is dead.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { ChildProcessGroup } from '../../src/cli/child-processes.ts';
import { parseConfig } from '../../src/common/config.ts';
import { Errors, ScaleAgentError } from '../../src/common/errors.ts';
import { silentLogger } from '../../src/common/logger.ts';
import { waitFor } from '../../src/common/time.ts';
import { hubConfigSchema } from '../../src/hub/config.ts';
import { startHub, type RunningHub } from '../../src/hub/hub.ts';
import { START_TIMEOUT_MS } from '../support/system.ts';

const HEARTBEAT_SECONDS = 1;
/** Long enough that a killed replica is still live when the next start checks, on two loaded cores. */
const DEAD_AFTER_SECONDS = 5;

function isSingleHubRefusal(other: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ScaleAgentError, String(err));
    assert.equal(err.code, Errors.CONFIG_INVALID.code);
    assert.match(err.message, /SQLite serves one hub/);
    assert.match(err.message, new RegExp(`"${other}"`));
    assert.match(err.message, /PostgreSQL or MySQL/);
    return true;
  };
}

describe('SQLite serves one hub replica', { timeout: 120_000 }, () => {
  let dir: string;
  let url: string;
  const hubs: RunningHub[] = [];
  const group = new ChildProcessGroup({ echo: process.env.E2E_ECHO === '1' });

  const settings = (id: string) => ({
    hub: { id, heartbeatIntervalSeconds: HEARTBEAT_SECONDS, replicaDeadAfterSeconds: DEAD_AFTER_SECONDS },
    database: { url },
    server: { host: '127.0.0.1', port: 0 },
    grpc: { host: '127.0.0.1', port: 0, insecure: true, allowAnyIdentity: true },
  });
  const start = async (id: string): Promise<RunningHub> => {
    const hub = await startHub(parseConfig(hubConfigSchema, settings(id), 'test'), silentLogger());
    hubs.push(hub);
    return hub;
  };
  const close = async (hub: RunningHub): Promise<void> => {
    hubs.splice(hubs.indexOf(hub), 1);
    await hub.close();
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'scale-agent-sqlite-replicas-'));
    url = `sqlite:${join(dir, 'hub.db')}`;
  });

  after(async () => {
    for (const hub of hubs) await hub.close();
    await group.stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a second live replica is refused; once the first stopped cleanly, the next starts at once', async () => {
    const first = await start('hub-a');
    await assert.rejects(start('hub-b'), isSingleHubRefusal('hub-a'));
    const health = (await (await fetch(`${first.restUrl}/health`)).json()) as any;
    assert.deepEqual(
      health.components.replicas.details.replicas.map((r: { hubId: string; live: boolean }) => [r.hubId, r.live]),
      [['hub-a', true]],
      'the refused replica left no row and the first still serves',
    );
    await close(first);
    const next = await start('hub-b');
    await close(next);
  });

  test('a start that fails at a port in use closes what it opened: no row stays behind, so another replica starts at once', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      for (const [key, taken] of [
        ['server', { server: { host: '127.0.0.1', port } }],
        ['grpc', { grpc: { host: '127.0.0.1', port, insecure: true, allowAnyIdentity: true } }],
      ] as const) {
        await assert.rejects(startHub(parseConfig(hubConfigSchema, { ...settings(`hub-${key}`), ...taken }, 'test'), silentLogger()), (err: unknown) => {
          assert.ok(err instanceof ScaleAgentError, String(err));
          assert.equal(err.code, Errors.PORT_UNAVAILABLE.code);
          assert.ok(err.message.startsWith(`${key}.port ${port} is in use on 127.0.0.1`), err.message);
          return true;
        });
        // Refused as a second live replica if the failed one had left its row.
        await close(await start('hub-after'));
      }
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  /** Runs hub `id` as a process on the database and kills it (kill -9): its row stays behind. */
  const startAndKill = async (id: string): Promise<void> => {
    const configPath = join(dir, `${id}.yaml`);
    writeFileSync(configPath, toYaml(settings(id)));
    group.start(id, ['hub', '--config', configPath, '--log-format', 'json']);
    await waitFor(() => group.output(id).includes('"msg":"hub started"'), { timeoutMs: START_TIMEOUT_MS, what: `hub ${id} to start` });
    await group.stop(id, 'SIGKILL');
  };

  test('a killed replica restarted under its own id starts at once (the default id is the host name)', async () => {
    await startAndKill('hub-crashing');
    await close(await start('hub-crashing'));
  });

  test('a killed replica stops another one until its silence passes hub.replicaDeadAfterSeconds', async () => {
    await startAndKill('hub-killed');
    await assert.rejects(start('hub-next'), isSingleHubRefusal('hub-killed'));
    const next = await waitFor(() => start('hub-next').catch(() => undefined), {
      timeoutMs: DEAD_AFTER_SECONDS * 1000 * 10,
      intervalMs: 250,
      what: 'the killed replica to count as dead',
    });
    await close(next);
  });
});
