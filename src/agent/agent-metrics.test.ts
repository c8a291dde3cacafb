import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { AgentMetrics, type SessionSource } from './agent-metrics.ts';

function series(text: string, family: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${family}{`));
}

test('acknowledged changes and bytes are counted per account and grow from scrape to scrape', async () => {
  const registry = new Registry();
  const metrics = new AgentMetrics(registry, new Map(), new Map());
  metrics.batchAcked('east', 3, 100, 5);
  metrics.batchAcked('west', 1, 10, 5);
  metrics.batchAcked('east', 2, 50, 5);
  let text = await registry.metrics();
  assert.deepEqual(series(text, 'scale_agent_changes_sent_total'), [
    'scale_agent_changes_sent_total{account="east"} 5',
    'scale_agent_changes_sent_total{account="west"} 1',
  ]);
  assert.deepEqual(series(text, 'scale_agent_bytes_sent_total'), [
    'scale_agent_bytes_sent_total{account="east"} 150',
    'scale_agent_bytes_sent_total{account="west"} 10',
  ]);
  metrics.batchAcked('east', 1, 1, 5);
  text = await registry.metrics();
  assert.deepEqual(series(text, 'scale_agent_changes_sent_total'), [
    'scale_agent_changes_sent_total{account="east"} 6',
    'scale_agent_changes_sent_total{account="west"} 1',
  ]);
  assert.match(text, /scale_agent_batch_ack_seconds_count 4/);
});

test("the session's state is one series per state, 1 for the current one; redials are a counter", async () => {
  const registry = new Registry();
  const metrics = new AgentMetrics(registry, new Map(), new Map());
  const connection: { -readonly [K in keyof SessionSource]: SessionSource[K] } = { state: 'connecting', reconnects: 0 };
  metrics.watchSession(registry, connection);
  let text = await registry.metrics();
  assert.deepEqual(series(text, 'scale_agent_session_state'), [
    'scale_agent_session_state{state="connecting"} 1',
    'scale_agent_session_state{state="connected"} 0',
    'scale_agent_session_state{state="backoff"} 0',
    'scale_agent_session_state{state="stopped"} 0',
  ]);
  assert.match(text, /^scale_agent_session_reconnects_total 0$/m);
  connection.state = 'connected';
  connection.reconnects = 3;
  text = await registry.metrics();
  assert.deepEqual(
    series(text, 'scale_agent_session_state').filter((line) => line.endsWith(' 1')),
    ['scale_agent_session_state{state="connected"} 1'],
  );
  assert.match(text, /^scale_agent_session_reconnects_total 3$/m);
});
