/**
 * The status pages in a real browser (Debian's headless Chromium driven by playwright-core): the hub's
 * `/` over a running sim + hub + agent with the demo's three accounts loads without a console error, a
 * page error or a failed request, shows the accounts with their kinds' freshness and an operation with
 * its hops, shows an account whose name and error are HTML as text, and follows an account's
 * disconnection without being reloaded; the agent's `/` shows its own feeds. Screenshots of both go to
 * test-output/status-page/ (their paths are printed).
 *
 * Without Chromium at CHROMIUM_PATH the suite is skipped, saying why; with CI set it fails instead.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { isCi } from '../support/database-servers.ts';
import { runOp } from '../support/operations.ts';
import { TestSystem } from '../support/system.ts';

type Tree = Record<string, any>;
/** The page's globals, in the functions the browser runs (the project compiles without the DOM's types). */
declare const document: any;
declare const window: any;

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUTPUT_DIR = join(ROOT, 'test-output', 'status-page');
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** The machine has no network: without these Chromium's own background connections are refused and logged. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const VIEWPORT = { width: 1440, height: 900 };
/** The page polls every 2 s; the agent notices a configuration change within a second. */
const PAGE_UPDATE_TIMEOUT_MS = 30_000;

/** An account whose name and kubeconfig path are HTML: the agent cannot reach it, so the hub shows it unreachable with the path in its reason. */
const HOSTILE_NAME = '<img src=x onerror="window.__injected=1">';
const HOSTILE_ACCOUNT = { name: HOSTILE_NAME, kubeconfigFile: '/nonexistent/<script>window.__injected=2</script>.yaml' };

const chromiumMissing = existsSync(CHROMIUM_PATH)
  ? undefined
  : `no Chromium at ${CHROMIUM_PATH} (install Debian's chromium package, as .ci/run does, or set CHROMIUM_PATH)`;

/** What went wrong in the page: console errors, uncaught exceptions, requests that failed or were refused. */
function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()} for ${response.url()}`);
  });
  return problems;
}

/** The row of a table section whose key is `key`: its state pill and its text. */
async function row(page: Page, section: string, key: string): Promise<{ state: string | null; text: string } | undefined> {
  return page.evaluate(
    ({ section, key }) => {
      const rows = Array.from<any>(document.querySelectorAll(`#${section} tbody tr`));
      const found = rows.find((r: any) => r.dataset.key === key);
      if (found === undefined) return undefined;
      return { state: found.querySelector('.pill')?.getAttribute('data-state') ?? null, text: found.textContent ?? '' };
    },
    { section, key },
  );
}

async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const path = join(OUTPUT_DIR, name);
  await page.screenshot({ path, fullPage: true });
  console.log(`status page screenshot: ${relative(ROOT, path)}`);
  return path;
}

describe('status pages in a browser', { skip: chromiumMissing !== undefined && !isCi() ? chromiumMissing : false }, () => {
  let system: TestSystem;
  let browser: Browser;

  before(async () => {
    if (chromiumMissing !== undefined) throw new Error(`${chromiumMissing}; with CI set the browser test does not skip`);
    system = await new TestSystem({ clusters: 3, extraAccounts: [HOSTILE_ACCOUNT] }).start();
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    // One operation, so that the page has hops to show.
    await runOp(system, 'deployManifest', {
      account: 'cluster-1',
      cloudProvider: 'kubernetes',
      source: 'text',
      moniker: { app: 'status' },
      manifests: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'status-page', namespace: 'default' }, data: { shown: 'yes' } }],
    });
  });

  after(async () => {
    await browser?.close();
    await system?.stop();
  });

  test("the hub's page shows the accounts, their feeds and the operation, and follows a disconnection without a reload", async (t) => {
    const page = await browser.newPage({ viewport: VIEWPORT });
    const problems = watchProblems(page);
    await page.goto(`${system.restUrl}/`);
    await page.waitForFunction(
      (names) => names.every((n) => Array.from<any>(document.querySelectorAll('#accounts tbody tr')).some((r: any) => r.dataset.key === n)),
      [...system.names, HOSTILE_NAME],
      { timeout: PAGE_UPDATE_TIMEOUT_MS },
    );
    for (const name of system.names) {
      const shown = await row(page, 'accounts', name);
      assert.equal(shown?.state, 'connected', `${name}: ${shown?.text}`);
      assert.match(shown!.text, /Deployment\s*\d/, `${name} shows its Deployments' freshness`);
    }
    // Shown as text: the name and the reason that carries the path, with no element made of them.
    const hostile = await row(page, 'accounts', HOSTILE_NAME);
    assert.equal(hostile?.state, 'unreachable');
    assert.ok(hostile!.text.includes(HOSTILE_NAME), hostile!.text);
    assert.ok(hostile!.text.includes('<script>window.__injected=2</script>'), hostile!.text);
    assert.deepEqual(
      await page.evaluate(() => ({ injected: window.__injected ?? null, elements: document.querySelectorAll('#app img, #app script').length })),
      { injected: null, elements: 0 },
    );
    await page.waitForFunction(() => document.querySelectorAll('#operations tbody tr').length > 0, undefined, { timeout: PAGE_UPDATE_TIMEOUT_MS });
    assert.match(await page.locator('#operations tbody').innerText(), /cluster-1\s+apply\s+SUCCEEDED\s+20[01]/);
    assert.match(await page.locator('#sessions tbody').innerText(), /e2e-agent/);

    // cluster-3 leaves the agent's configuration: the agent releases it and the page, polling, shows it disconnected.
    await page.evaluate(() => (window.__sameDocument = true));
    const removedAt = Date.now();
    system.rewriteAgentConfig((config: Tree) => {
      config.kubernetes.accounts = config.kubernetes.accounts.filter((a: Tree) => a.name !== 'cluster-3');
      return config;
    });
    await page.waitForFunction(
      () =>
        Array.from<any>(document.querySelectorAll('#accounts tbody tr'))
          .find((r: any) => r.dataset.key === 'cluster-3')
          ?.querySelector('.pill')
          ?.getAttribute('data-state') === 'disconnected',
      undefined,
      { timeout: PAGE_UPDATE_TIMEOUT_MS },
    );
    t.diagnostic(`the page showed cluster-3 disconnected ${Date.now() - removedAt} ms after the configuration changed`);
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was not reloaded');
    assert.equal((await row(page, 'accounts', 'cluster-1'))?.state, 'connected');

    t.diagnostic(`screenshot: ${relative(ROOT, await screenshot(page, 'hub.png'))}`);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("the agent's page shows its accounts and watches", async (t) => {
    const page = await browser.newPage({ viewport: VIEWPORT });
    const problems = watchProblems(page);
    await page.goto(`${system.agentAdminUrl}/`);
    await page.waitForFunction(
      (names) => names.every((n) => Array.from<any>(document.querySelectorAll('#accounts tbody tr')).some((r: any) => r.dataset.key === n)),
      ['cluster-1', 'cluster-2', HOSTILE_NAME],
      { timeout: PAGE_UPDATE_TIMEOUT_MS },
    );
    assert.equal((await row(page, 'accounts', 'cluster-1'))?.state, 'ready');
    assert.equal((await row(page, 'accounts', HOSTILE_NAME))?.state, 'failed');
    assert.equal(await page.evaluate(() => document.querySelectorAll('#app img, #app script').length), 0);
    assert.match(await page.locator('#accounts tbody').innerText(), /Deployment \d+s/, 'each watch with its freshness');
    assert.match(await page.locator('#watches h2').innerText(), /watches needing attention/i);
    assert.match(await page.locator('#hub').innerText(), /connected/);

    t.diagnostic(`screenshot: ${relative(ROOT, await screenshot(page, 'agent.png'))}`);
    assert.deepEqual(problems, []);
    await page.close();
  });
});
