// `scale-agent demo` run again in the same directory: after a clean stop it starts as the first run did
// (its sample deploy applied through the agent); while a demo runs there a second one is refused without
// touching the first's database; after a demo was killed (kill -9), the parts it left running are
// stopped and the next demo starts. Real processes on free ports and a directory of the test's own.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildProcessGroup } from '../../src/cli/child-processes.ts';
import { DEMO_STATE_FILE } from '../../src/cli/demo-state.ts';
import { Errors } from '../../src/common/errors.ts';
import { waitFor } from '../../src/common/time.ts';
import { freePort } from '../support/free-port.ts';

/** A demo's start on two cores shared with the test and whatever else runs: sim, hub, agent, first sync, a deploy. */
const DEMO_START_TIMEOUT_MS = 120_000;
const BANNER = 'Scale Agent demo is running';
const APPLIED = 'operation apply finished';
/** The agent's line once every account's initial sync is committed (sync-progress-log.ts). */
const SYNCED = 'initial sync done: ';

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('the demo run again in the same directory', { timeout: 600_000 }, () => {
  const group = new ChildProcessGroup({ echo: process.env.E2E_ECHO === '1' });
  let dir: string;
  let args: string[];
  let runs = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'scale-agent-demo-'));
    const [rest, grpc, sim, agent] = [await freePort(), await freePort(), await freePort(), await freePort()];
    args = ['demo', '--dir', dir, '--clusters', '1', '--sample-apps', '1', '--churn', '0'];
    args.push('--rest-port', String(rest), '--grpc-port', String(grpc), '--sim-port', String(sim), '--agent-port', String(agent));
  });

  after(async () => {
    await group.stopAll();
    // Whatever a killed demo left running if the test failed before the next demo stopped it.
    const statePath = join(dir, DEMO_STATE_FILE);
    if (existsSync(statePath)) {
      const state = JSON.parse(readFileSync(statePath, 'utf8')) as { parts: Record<string, { pid: number; command: string[] }> };
      for (const { pid, command } of Object.values(state.parts)) {
        const cmdline = `/proc/${pid}/cmdline`;
        if (existsSync(cmdline) && readFileSync(cmdline, 'utf8').split('\0').join(' ').trim() === command.join(' ')) process.kill(pid, 'SIGKILL');
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts a demo and waits for its banner, its initial sync reported done and its sample deploy applied by the agent. */
  async function startDemo(): Promise<{ name: string; child: ChildProcess }> {
    const name = `demo-${++runs}`;
    const child = group.start(name, args);
    const seen = new Set<string>();
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${group.output(name)}`);
        const output = group.output(name);
        for (const line of [BANNER, SYNCED, APPLIED]) if (output.includes(line)) seen.add(line);
        return seen.size === 3;
      },
      { timeoutMs: DEMO_START_TIMEOUT_MS, intervalMs: 100, what: `${name}'s banner, its initial sync done and its sample deploy` },
    );
    return { name, child };
  }

  // One sequence, three demos (each start costs a sim, a hub and an agent): refused while one runs, a
  // killed one's leftovers stopped by the next, and a clean stop leaving the directory ready again.
  test('while a demo runs another in its directory is refused; after a kill the next stops its leftovers; after a clean stop the next starts the same', async () => {
    const running = await startDemo();
    assert.ok(existsSync(join(dir, DEMO_STATE_FILE)), 'a running demo records itself');
    const refused = group.start('refused', args);
    assert.equal(await exitOf(refused), 1);
    assert.match(group.output('refused'), new RegExp(`^scale-agent: ${Errors.DEMO_ALREADY_RUNNING.code}: a demo started .* still runs in `));
    assert.ok(existsSync(join(dir, 'hub.db')), "the running demo's database is untouched");
    assert.equal(running.child.exitCode, null, 'the running demo runs on');

    await group.stop(running.name, 'SIGKILL');
    const state = JSON.parse(readFileSync(join(dir, DEMO_STATE_FILE), 'utf8')) as { parts: Record<string, { pid: number }> };
    assert.deepEqual(Object.keys(state.parts).sort(), ['agent', 'hub', 'sim']);

    const next = await startDemo();
    for (const { pid } of Object.values(state.parts)) assert.equal(existsSync(`/proc/${pid}`), false, `pid ${pid} of the killed demo is gone`);
    await group.stop(next.name);
    assert.equal(await exitOf(next.child), 0);
    assert.equal(existsSync(join(dir, DEMO_STATE_FILE)), false, 'a clean stop removes its record');

    const again = await startDemo();
    await group.stop(again.name);
    assert.equal(await exitOf(again.child), 0);
  });
});
