// What a peer without credentials can cost the hub (issue: an 8 MiB hello of empty accounts cost ~800 MB
// and ~7.7 s of event loop; 24 in parallel stalled the hub for 33 s and cut a real agent's session).
// The hub runs as its own process and requires an identity (a bearer token); a real agent with the
// token is connected. 24 clients without credentials each send an 8 MiB hello of four million empty
// accounts at once. The hub's own metrics say what it cost: its event-loop delay (the maximum between
// two scrapes) and its resident memory, sampled throughout; the agent's session must live on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { waitFor } from '../../src/common/time.ts';
import { AgentHubClient, AgentMessageSchema, GRPC_MAX_MESSAGE_BYTES, preEncoded, type AgentMessage, type HubMessage } from '../../src/protocol/index.ts';
import { TestSystem } from '../support/system.ts';
import { metricValue } from '../support/prometheus-text.ts';
import { helloOfEmptyAccounts } from './fuzz-frames.ts';

const TOKEN = 'unauthenticated-cost-test-token';
const ATTACKERS = 24;
const MAX_EVENT_LOOP_DELAY_MS = 200;
const MAX_RSS_GROWTH_BYTES = 50 * 1024 * 1024;
/** How often the hub's metrics are sampled during the attack: pacing a measurement, not waiting for anything. */
const SAMPLE_INTERVAL_MS = 50;
const ATTACK_TIMEOUT_MS = 60_000;

describe('a peer without credentials cannot stall the hub', { timeout: 180_000 }, () => {
  let system: TestSystem;

  before(async () => {
    system = await new TestSystem({
      clusters: 1,
      hub: { grpc: { allowAnyIdentity: false }, identities: [{ name: 'e2e', match: { token: TOKEN }, accounts: ['*'] }] },
      agent: { clouddriver: { auth: { token: TOKEN } } },
    }).start();
  });

  after(async () => {
    await system?.stop();
  });

  test("24 parallel 8 MiB hellos without credentials: the hub stays responsive and small, the agent's session survives", async () => {
    const hello = helloOfEmptyAccounts(Math.floor((GRPC_MAX_MESSAGE_BYTES - 16) / 2));
    assert.ok(hello.length > 8_000_000 && hello.length <= GRPC_MAX_MESSAGE_BYTES);
    const before = (await system.rest('/metrics')).body as string;
    const rssBefore = metricValue(before, 'process_resident_memory_bytes');
    const agentHealth = (await system.agentAdmin('/health')).body as { hub: { state: string } };
    assert.equal(agentHealth.hub.state, 'connected');

    let maxDelaySeconds = 0;
    let maxRss = rssBefore;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const text = (await system.rest('/metrics')).body as string;
        maxDelaySeconds = Math.max(maxDelaySeconds, metricValue(text, 'nodejs_eventloop_lag_max_seconds'));
        maxRss = Math.max(maxRss, metricValue(text, 'process_resident_memory_bytes'));
        await new Promise((resolve) => setTimeout(resolve, SAMPLE_INTERVAL_MS));
      }
    })();

    const clients = Array.from(
      { length: ATTACKERS },
      () =>
        new AgentHubClient(`127.0.0.1:${system.grpcPort}`, credentials.createInsecure(), {
          'grpc.max_send_message_length': GRPC_MAX_MESSAGE_BYTES,
          'grpc.max_receive_message_length': GRPC_MAX_MESSAGE_BYTES,
        }),
    );
    const answers = await Promise.all(
      clients.map(
        (client) =>
          new Promise<string>((resolve) => {
            const call = (client as unknown as { Session(): ClientDuplexStream<AgentMessage, HubMessage> }).Session();
            let answer = '';
            call.on('data', (message: HubMessage) => {
              if (message.kind.case === 'refusal') answer = message.kind.value.code;
            });
            call.on('error', () => resolve(answer || 'error'));
            call.on('end', () => resolve(answer || 'ended'));
            call.write(preEncoded(AgentMessageSchema, hello));
            setTimeout(() => resolve(answer || 'timeout'), ATTACK_TIMEOUT_MS).unref();
          }),
      ),
    );
    for (const client of clients) client.close();
    sampling = false;
    await sampler;
    const after = (await system.rest('/metrics')).body as string;
    maxDelaySeconds = Math.max(maxDelaySeconds, metricValue(after, 'nodejs_eventloop_lag_max_seconds'));
    maxRss = Math.max(maxRss, metricValue(after, 'process_resident_memory_bytes'));

    assert.ok(
      answers.every((a) => a === 'AGENT_UNAUTHENTICATED'),
      `every attacker is refused as unauthenticated: ${answers.join(', ')}`,
    );
    assert.ok(maxDelaySeconds * 1000 < MAX_EVENT_LOOP_DELAY_MS, `the hub's event loop was delayed ${Math.round(maxDelaySeconds * 1000)} ms at most`);
    assert.ok(maxRss - rssBefore < MAX_RSS_GROWTH_BYTES, `the hub's RSS grew ${Math.round((maxRss - rssBefore) / 1024 / 1024)} MiB`);
    // The real agent was never cut off.
    const health = (await system.agentAdmin('/health')).body as { hub: { state: string } };
    assert.equal(health.hub.state, 'connected');
    assert.doesNotMatch(system.group.output('hub'), /silent for too long/);
    await waitFor(async () => (await system.agentStatuses()).get('cluster-1') === 'connected', { timeoutMs: 5_000, what: 'the account to be served' });
    console.log(
      `unauthenticated hellos: ${ATTACKERS} × ${(hello.length / 1024 / 1024).toFixed(1)} MiB; hub event-loop delay ≤ ${Math.round(maxDelaySeconds * 1000)} ms, RSS growth ${((maxRss - rssBefore) / 1024 / 1024).toFixed(1)} MiB`,
    );
  });
});
