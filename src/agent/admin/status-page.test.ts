// The agent's status page on its admin port: the page under a strict Content-Security-Policy, a script
// that parses, builds the DOM from text only, and reads only JSON the port already serves; it polls less
// often when the agent has many watches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Script } from 'node:vm';
import { Registry } from 'prom-client';
import { silentLogger } from '../../common/logger.ts';
import { STATUS_PAGE_CSP } from '../../common/status-page/page-shell.ts';
import { buildAdminServer } from './admin-server.ts';
import { FakePage } from '../../common/status-page/testing/fake-page.ts';
import { AGENT_STATUS_LARGE_REFRESH_MS, AGENT_STATUS_LARGE_WATCHES, AGENT_STATUS_PATHS, AGENT_STATUS_REFRESH_MS } from './status-page.ts';

test('GET / on the admin port is the page; its script reads /health, /accounts and /watches', async () => {
  const app = await buildAdminServer({
    accounts: new Map(),
    connection: { state: 'connecting', lastError: '<script>alert(1)</script>', protocolSummary: () => ({}) },
    syncStreams: new Map(),
    metricsRegistry: new Registry(),
    logger: silentLogger(),
    stuckBounds: { stuckMs: 300_000, stallTimeoutMs: 900_000 },
  });
  try {
    const page = await app.inject({ method: 'GET', url: AGENT_STATUS_PATHS.page });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.equal(page.headers['content-security-policy'], STATUS_PAGE_CSP);
    assert.match(page.body, /<script src="status\/page\.js"><\/script>/);
    assert.doesNotMatch(page.body, /<script>|<style>| style=| on[a-z]+=/);

    const script = await app.inject({ method: 'GET', url: AGENT_STATUS_PATHS.script });
    assert.equal(script.statusCode, 200);
    assert.equal(script.headers['content-security-policy'], STATUS_PAGE_CSP);
    assert.doesNotThrow(() => new Script(script.body), 'the script parses');
    assert.doesNotMatch(script.body, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
    const paths = [...script.body.matchAll(/getJson\('([a-z/]+)'/g)].map((m) => m[1]);
    assert.deepEqual(paths, ['health', 'accounts', 'watches']);
    for (const path of paths) {
      const res = await app.inject({ method: 'GET', url: `/${path}` });
      assert.ok([200, 503].includes(res.statusCode), `/${path} answers JSON the page reads`);
      assert.match(String(res.headers['content-type']), /^application\/json/);
    }
    // The hub's error reaches the page as JSON text; the script shows it with textContent.
    assert.equal((await app.inject({ method: 'GET', url: '/health' })).json().hub.lastError, '<script>alert(1)</script>');

    const style = await app.inject({ method: 'GET', url: AGENT_STATUS_PATHS.style });
    assert.equal(style.statusCode, 200);
    assert.match(String(style.headers['content-type']), /^text\/css/);
  } finally {
    await app.close();
  }
});

test('the page polls less often past AGENT_STATUS_LARGE_WATCHES watches (each poll serialises them all)', async () => {
  const app = await buildAdminServer({
    accounts: new Map(),
    connection: { state: 'connected', lastError: undefined, protocolSummary: () => ({}) },
    syncStreams: new Map(),
    metricsRegistry: new Registry(),
    logger: silentLogger(),
    stuckBounds: { stuckMs: 300_000, stallTimeoutMs: 900_000 },
  });
  try {
    const script = (await app.inject({ method: 'GET', url: AGENT_STATUS_PATHS.script })).body;
    const health = (await app.inject({ method: 'GET', url: '/health' })).json();
    const watch = (i: number) => ({
      account: 'prod',
      group: '',
      version: 'v1',
      kind: `Kind${i}`,
      namespace: '',
      state: 'watching',
      stuck: null,
      freshnessSeconds: 1,
      digest: { divergedSince: null },
    });
    const intervalFor = async (watches: number): Promise<number[]> => {
      const list = Array.from({ length: watches }, (_, i) => watch(i));
      const page = new FakePage(script, (path) => ({ status: 200, body: path === 'health' ? health : path === 'accounts' ? [] : list }));
      await page.settle();
      assert.equal(page.elements.banner.textContent, '', 'rendered without an error');
      return page.pendingTimers;
    };
    assert.deepEqual(await intervalFor(10), [AGENT_STATUS_REFRESH_MS]);
    assert.deepEqual(await intervalFor(AGENT_STATUS_LARGE_WATCHES + 1), [AGENT_STATUS_LARGE_REFRESH_MS]);
  } finally {
    await app.close();
  }
});
