// The agent's status page on its admin port: the page under a strict Content-Security-Policy, a script
// that parses, builds the DOM from text only, and reads only JSON the port already serves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Script } from 'node:vm';
import { Registry } from 'prom-client';
import { silentLogger } from '../../common/logger.ts';
import { STATUS_PAGE_CSP } from '../../common/status-page/page-shell.ts';
import { buildAdminServer } from './admin-server.ts';
import { AGENT_STATUS_PATHS } from './status-page.ts';

test('GET / on the admin port is the page; its script reads /health, /accounts and /watches', async () => {
  const app = await buildAdminServer({
    accounts: new Map(),
    connection: { state: 'connecting', lastError: '<script>alert(1)</script>' },
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
