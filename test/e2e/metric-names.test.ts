import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { metricSum } from '../support/prometheus-text.ts';
import { exposedNames, metricNamesOf, metricNamesOfVariableQuery, samples } from '../support/promql-names.ts';
import { runOp } from '../support/operations.ts';
import { TestSystem } from '../support/system.ts';

/**
 * The Grafana dashboard (deploy/grafana/scale-agent.json) charts only metrics the hub and the agent
 * really export: every metric name of every PromQL expression in it is found in the `/metrics` of a
 * running sim + hub + agent that has run one Spinnaker operation (so the operation and task histograms
 * have series). The same output shows Node's standard process metrics without our prefix, and one
 * watch-state series per feed.
 */
const DASHBOARD = join(fileURLToPath(import.meta.url), '..', '..', '..', 'deploy', 'grafana', 'scale-agent.json');
const ACCOUNT = 'cluster-1';

type Json = any;

/** Every PromQL expression of the dashboard (panel targets, rows' nested panels) and every variable query. */
function dashboardQueries(dashboard: Json): { exprs: string[]; variables: string[] } {
  const exprs: string[] = [];
  const walk = (node: Json) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === 'object') {
      if (typeof node.expr === 'string') exprs.push(node.expr);
      for (const value of Object.values(node)) walk(value);
    }
  };
  walk(dashboard.panels);
  const variables = (dashboard.templating?.list ?? [])
    .filter((v: Json) => v.type === 'query')
    .flatMap((v: Json) => [v.definition, typeof v.query === 'string' ? v.query : v.query?.query].filter((q: unknown) => typeof q === 'string'));
  return { exprs, variables };
}

test('the PromQL reader finds metric names and nothing else', () => {
  assert.deepEqual(metricNamesOf('histogram_quantile(0.99, sum by (le, route) (rate(x_seconds_bucket{job=~"$job",route!="a b"}[$__rate_interval])))'), [
    'x_seconds_bucket',
  ]);
  assert.deepEqual(metricNamesOf('topk(10, min by (account) (a_seconds{instance=~"${instance}"})) / on (account) group_left b_info offset 5m'), [
    'a_seconds',
    'b_info',
  ]);
  assert.deepEqual(metricNamesOf('sum(rate(c_total[5m])) > 1e3 and d != 2 or vector(1)'), ['c_total', 'd']);
  assert.deepEqual(metricNamesOfVariableQuery('label_values(process_start_time_seconds{job=~"$job"}, instance)'), ['process_start_time_seconds']);
  assert.deepEqual(metricNamesOfVariableQuery('label_values(job)'), []);
  assert.deepEqual(metricNamesOfVariableQuery('label_values({__name__=~"e|f_total"}, job)'), ['e', 'f_total']);
  const names = exposedNames('# HELP h x\n# TYPE h histogram\n# TYPE c_total counter\nc_total{a="b"} 1\ng 2\n');
  assert.deepEqual([...names].sort(), ['c_total', 'g', 'h_bucket', 'h_count', 'h_sum']);
});

describe('the dashboard uses only metric names the processes export', { timeout: 180_000 }, () => {
  let system: TestSystem;
  let hub: string;
  let agent: string;

  before(async () => {
    system = await new TestSystem({ clusters: 1 }).start();
    await runOp(system, 'deployManifest', {
      account: ACCOUNT,
      cloudProvider: 'kubernetes',
      source: 'text',
      moniker: { app: 'metrics' },
      manifests: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'metrics', namespace: 'default' }, data: { a: '1' } }],
    });
    hub = await (await fetch(`${system.restUrl}/metrics`)).text();
    agent = await (await fetch(`${system.agentAdminUrl}/metrics`)).text();
  });

  after(async () => {
    await system?.stop();
  });

  test('every metric of every panel and variable is in the hub or the agent output', () => {
    const { exprs, variables } = dashboardQueries(JSON.parse(readFileSync(DASHBOARD, 'utf8')));
    assert.ok(exprs.length >= 20, `the dashboard has its panels (${exprs.length} expressions)`);
    const hubNames = exposedNames(hub);
    const agentNames = exposedNames(agent);
    const missing: string[] = [];
    const used = new Set<string>();
    for (const query of [...exprs.map((e) => ({ e, names: metricNamesOf(e) })), ...variables.map((e) => ({ e, names: metricNamesOfVariableQuery(e) }))]) {
      assert.ok(query.names.length > 0, `a query reads some metric: ${query.e}`);
      for (const name of query.names) {
        used.add(name);
        // The hub's metrics must come from the hub, the agent's from the agent; the process metrics from both.
        const where = name.startsWith('scale_agent_hub_') ? [hubNames] : name.startsWith('scale_agent_') ? [agentNames] : [hubNames, agentNames];
        if (!where.every((names) => names.has(name))) missing.push(`${name} (in ${query.e})`);
      }
    }
    assert.deepEqual(missing, []);
    // The panels the issue asks for are there.
    for (const name of [
      'scale_agent_hub_agent_sessions',
      'scale_agent_hub_account_freshness_seconds',
      'scale_agent_hub_changes_committed_total',
      'scale_agent_hub_batch_commit_seconds_bucket',
      'scale_agent_hub_http_request_duration_seconds_bucket',
      'scale_agent_hub_operation_duration_seconds_bucket',
      'scale_agent_hub_replicas',
      'scale_agent_session_state',
      'scale_agent_session_reconnects_total',
      'scale_agent_watches_by_state',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
    ])
      assert.ok(used.has(name), `the dashboard charts ${name}`);
  });

  test("the hub's metrics: Node's standard process metrics, the operation just run, REST by route template, accounts", () => {
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds'])
      assert.equal(samples(hub, name).length, 1, `${name} is exported unprefixed`);
    assert.doesNotMatch(hub, /^scale_agent_hub_(process|nodejs)_/m);
    assert.ok(metricSum(hub, 'scale_agent_hub_operation_duration_seconds_count', 'type="apply",result="success"') >= 1, 'the apply is timed');
    assert.ok(metricSum(hub, 'scale_agent_hub_task_duration_seconds_count', 'operation="deployManifest",result="completed"') >= 1, 'the task is timed');
    const routes = new Set(samples(hub, 'scale_agent_hub_http_request_duration_seconds_count').map((line) => /route="([^"]*)"/.exec(line)?.[1]));
    assert.ok(routes.has('/task/:id'), `the task polls are counted under their route template: ${[...routes].join(', ')}`);
    assert.ok(routes.has('/kubernetes/ops'), 'the submission too');
    assert.ok(
      [...routes].every((route) => route === 'unmatched' || !/[0-9A-HJKMNP-TV-Z]{26}/.test(route ?? '')),
      'no task id (a raw URL) in a route label',
    );
    assert.equal(metricSum(hub, 'scale_agent_hub_agent_sessions'), 1);
    assert.equal(metricSum(hub, 'scale_agent_hub_accounts', 'status="connected"'), 1);
    assert.equal(metricSum(hub, 'scale_agent_hub_replicas', 'state="live"'), 1);
    const [freshness] = samples(hub, 'scale_agent_hub_account_freshness_seconds');
    assert.match(freshness ?? '', new RegExp(`^scale_agent_hub_account_freshness_seconds\\{account="${ACCOUNT}"\\} \\d`));
  });

  test("the agent's metrics: its hub session, and the watch state as one series per feed", () => {
    for (const name of ['process_cpu_seconds_total', 'nodejs_eventloop_lag_seconds']) assert.equal(samples(agent, name).length, 1, name);
    assert.doesNotMatch(agent, /^scale_agent_(process|nodejs)_/m);
    assert.deepEqual(
      samples(agent, 'scale_agent_session_state').filter((line) => line.endsWith(' 1')),
      ['scale_agent_session_state{state="connected"} 1'],
    );
    assert.equal(samples(agent, 'scale_agent_session_reconnects_total').length, 1);
    const feeds = metricSum(agent, 'scale_agent_watches');
    assert.ok(feeds > 0);
    const states = samples(agent, 'scale_agent_watch_state');
    assert.equal(states.length, feeds, 'one watch-state series per feed');
    assert.ok(
      states.every((line) => !line.includes('state=')),
      'no series per state',
    );
    assert.equal(metricSum(agent, 'scale_agent_watches_by_state'), feeds);
  });
});
