import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import { after, describe, it } from 'node:test';
import { isScaleAgentError } from '../common/errors.ts';
import { waitFor } from '../common/time.ts';
import { KubeClient } from './client.ts';
import { Http2Transport } from './http2-transport.ts';
import { openWatch, sendJson, startFakeApiServer, status, type FakeApiServer } from './testing/fake-api-server.ts';
import type { WatchEvent } from './watch-event.ts';
import type { WatchOptions } from './client.ts';

const servers: FakeApiServer[] = [];
const clients: KubeClient[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(mode: 'http' | 'https' | 'h2', handler: Parameters<typeof startFakeApiServer>[1], options?: Parameters<typeof startFakeApiServer>[2]) {
  const server = await startFakeApiServer(mode, handler, options);
  servers.push(server);
  return server;
}

function client(
  server: FakeApiServer,
  extra: Partial<ConstructorParameters<typeof KubeClient>[0]> = {},
  options: ConstructorParameters<typeof KubeClient>[1] = {},
) {
  const c = new KubeClient(
    { server: server.url, insecureSkipTlsVerify: false, auth: { type: 'token', token: 't0k' }, ...(server.tls ? { caPem: server.tls.caPem } : {}), ...extra },
    options,
  );
  clients.push(c);
  return c;
}

/** The events of one watch read to its end, each also handed to `onEach` as it arrives. */
async function watchAll(
  c: KubeClient,
  path: string,
  query: Record<string, string> = {},
  signal?: AbortSignal,
  options: WatchOptions = {},
  seen: WatchEvent[] = [],
  onEach?: (event: WatchEvent) => void,
): Promise<WatchEvent[]> {
  await c.watchEvents(path, query, signal, options, (event) => {
    seen.push(event);
    onEach?.(event);
  });
  return seen;
}

describe('KubeClient over HTTP/1.1', () => {
  it('sends auth, user agent, query and the server path prefix; parses JSON', async () => {
    const server = await serve('http', (req, res, r) =>
      sendJson(res, 200, { path: r.path, q: r.query.get('labelSelector'), auth: req.headers.authorization, ua: req.headers['user-agent'] }),
    );
    const c = client(server, { server: `${server.url}/clusters/a/` }, { userAgent: 'test-agent/1' });
    const body = await c.json<Record<string, string>>({ path: '/api/v1/pods', query: { labelSelector: 'app=x', limit: undefined } });
    assert.deepEqual(body, { path: '/clusters/a/api/v1/pods', q: 'app=x', auth: 'Bearer t0k', ua: 'test-agent/1' });
    assert.equal(c.host, `${server.url}/clusters/a`);
    assert.equal(c.protocol, 'http/1.1');
    assert.equal(c.caFingerprint(), '');
  });

  it('request() returns HTTP errors; json() throws KUBE_API_ERROR with the status and parsed Status', async () => {
    const server = await serve('http', (_req, res, r) => {
      if (r.path === '/html') {
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end('<html>bad gateway</html>');
      } else sendJson(res, 404, status(404, 'NotFound', 'pods "x" not found'));
    });
    const c = client(server);
    const raw = await c.request({ path: '/api/v1/namespaces/d/pods/x' });
    assert.equal(raw.status, 404);
    await assert.rejects(c.json({ path: '/api/v1/namespaces/d/pods/x' }), (err: unknown) => {
      assert.ok(isScaleAgentError(err, 'KUBE_API_ERROR'));
      assert.equal(err.details.status, 404);
      assert.equal(err.details.reason, 'NotFound');
      assert.match(err.message, /pods "x" not found/);
      return true;
    });
    await assert.rejects(
      c.json({ path: '/html' }),
      (err: unknown) => isScaleAgentError(err, 'KUBE_API_ERROR') && err.details.status === 502 && /bad gateway/.test(err.message),
    );
  });

  it('sends JSON bodies with a content type', async () => {
    const server = await serve('http', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => sendJson(res, 201, { got: JSON.parse(Buffer.concat(chunks).toString()), type: req.headers['content-type'] }));
    });
    const body = await client(server).json({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: 'n' } } });
    assert.deepEqual(body, { got: { metadata: { name: 'n' } }, type: 'application/json' });
  });

  it('times out a request that gets no answer with KUBE_TIMEOUT', async () => {
    const server = await serve('http', () => {});
    await assert.rejects(client(server, {}, { requestTimeoutMs: 50 }).request({ path: '/hang' }), (err: unknown) => isScaleAgentError(err, 'KUBE_TIMEOUT'));
  });

  it('reports a refused connection as KUBE_TRANSPORT_ERROR', async () => {
    const server = await serve('http', () => {});
    const url = server.url;
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    const c = new KubeClient({ server: url, insecureSkipTlsVerify: false, auth: { type: 'none' } });
    clients.push(c);
    await assert.rejects(c.request({ path: '/x' }), (err: unknown) => isScaleAgentError(err, 'KUBE_TRANSPORT_ERROR'));
  });

  it('re-reads a token file and retries once after 401', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kube-token-'));
    const tokenPath = join(dir, 'token');
    await writeFile(tokenPath, 'old\n');
    const server = await serve('http', (req, res) => {
      if (req.headers.authorization === 'Bearer new') sendJson(res, 200, { ok: true });
      else sendJson(res, 401, status(401, 'Unauthorized'));
    });
    const c = client(server, { auth: { type: 'tokenFile', path: tokenPath } });
    await assert.rejects(c.json({ path: '/a' }), (err: unknown) => isScaleAgentError(err, 'KUBE_API_ERROR') && err.details.status === 401);
    await writeFile(tokenPath, 'new\n');
    assert.deepEqual(await c.json({ path: '/a' }), { ok: true });
  });

  it('json() decodes a body that arrives in pieces, split inside multi-byte characters', async () => {
    const items = Array.from({ length: 50 }, (_, i) => ({ metadata: { name: `ä€😀-${i}`, annotations: { note: 'ünïcödé '.repeat(i) } } }));
    const bytes = Buffer.from(JSON.stringify({ kind: 'PodList', items }));
    const server = await serve('http', async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      for (let i = 0; i < bytes.length; i += 7) {
        res.write(bytes.subarray(i, i + 7));
        if (i % 700 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      res.end();
    });
    assert.deepEqual(await client(server).json({ path: '/api/v1/pods' }), { kind: 'PodList', items });
  });
});

describe('KubeClient over TLS', () => {
  it('uses HTTP/1.1 when the server does not offer h2, verifying the CA; fingerprints the CA', async () => {
    const server = await serve('https', (_req, res, r) => sendJson(res, 200, { v: r.httpVersion }));
    const c = client(server);
    assert.deepEqual(await c.json({ path: '/version' }), { v: '1.1' });
    assert.equal(c.protocol, 'http/1.1');
    assert.match(c.caFingerprint(), /^[0-9a-f]{64}$/);
    const untrusted = client(server, { caPem: undefined } as never);
    delete (untrusted.credentials as { caPem?: string }).caPem;
    await assert.rejects(untrusted.request({ path: '/version' }), (err: unknown) => isScaleAgentError(err, 'KUBE_TRANSPORT_ERROR'));
  });

  it('presents a client certificate', async () => {
    const server = await serve(
      'https',
      (req, res) => {
        const socket = (req as unknown as { socket: TLSSocket }).socket;
        sendJson(res, 200, { cn: socket.getPeerCertificate().subject?.CN ?? null });
      },
      { requestClientCert: true },
    );
    const c = client(server, { auth: { type: 'clientCertificate', certPem: server.tls!.clientCertPem, keyPem: server.tls!.clientKeyPem } });
    assert.deepEqual(await c.json({ path: '/' }), { cn: 'test-user' });
  });

  it('multiplexes concurrent requests and watches over one HTTP/2 session', async () => {
    const server = await serve('h2', (_req, res, r) => {
      if (r.query.get('watch') === 'true') {
        const w = openWatch(res);
        w.send('ADDED', { metadata: { name: r.path } });
        w.end();
      } else sendJson(res, 200, { v: r.httpVersion });
    });
    const c = client(server);
    const watches = Array.from({ length: 8 }, (_, i) => watchAll(c, `/api/v1/w${i}`));
    const requests = Array.from({ length: 8 }, () => c.json<{ v: string }>({ path: '/version' }));
    const [events, answers] = await Promise.all([Promise.all(watches), Promise.all(requests)]);
    assert.equal(c.protocol, 'h2');
    assert.deepEqual(
      events.map((e) => e[0]!.object.metadata?.name),
      Array.from({ length: 8 }, (_, i) => `/api/v1/w${i}`),
    );
    assert.ok(answers.every((a) => a.v === '2.0'));
    assert.equal(server.h2Sessions, 1);
    assert.equal(server.connections, 1);
    assert.ok(c.currentTransport instanceof Http2Transport);
    assert.equal((c.currentTransport as Http2Transport).sessionsOpened, 1);
  });

  it('opens another HTTP/2 session when every session is at the server stream limit, and closes it when idle', async () => {
    const server = await serve(
      'h2',
      (_req, res, r) => {
        if (r.query.get('watch') === 'true') openWatch(res).send('ADDED', { metadata: { name: r.path } });
        else sendJson(res, 200, { ok: true });
      },
      { h2Settings: { maxConcurrentStreams: 2 } },
    );
    const c = client(server);
    const controller = new AbortController();
    // Each of these ends its watch at its first event, so its stream closes.
    const firstEvents = Array.from({ length: 4 }, (_, i) => {
      const own = new AbortController();
      return watchAll(c, `/w${i}`, {}, own.signal, {}, [], () => own.abort()).catch((err: unknown) => {
        if (!own.signal.aborted) throw err;
      });
    });
    // Keep four open instead, until each has had its first event.
    const firsts: Promise<void>[] = [];
    const open = Array.from({ length: 4 }, (_, i) => {
      let first!: () => void;
      firsts.push(new Promise<void>((resolve) => (first = resolve)));
      return watchAll(c, `/open${i}`, {}, controller.signal, {}, [], () => first()).catch((err: unknown) => {
        if (!controller.signal.aborted) throw err;
      });
    });
    await Promise.all(firsts);
    assert.deepEqual(await c.json({ path: '/version' }), { ok: true });
    await Promise.all(firstEvents);
    const transport = c.currentTransport as Http2Transport;
    assert.ok(transport.sessionsOpened >= 3, `sessions opened: ${transport.sessionsOpened}`);
    controller.abort();
    await Promise.all(open);
    await waitFor(() => transport.openSessions === 1, { timeoutMs: 5000, intervalMs: 5 });
  });

  it('opens a new HTTP/2 session after the server drops the old one or sends GOAWAY', async () => {
    const server = await serve('h2', (_req, res) => sendJson(res, 200, { ok: true }));
    const c = client(server);
    await c.json({ path: '/a' });
    const transport = c.currentTransport as Http2Transport;
    assert.equal(server.h2Sessions, 1);
    server.dropConnections();
    await waitFor(async () => (await c.json<{ ok: boolean }>({ path: '/b' })).ok, { timeoutMs: 5000, intervalMs: 5 });
    assert.equal(server.h2Sessions, 2);
    server.goaway();
    await waitFor(async () => (await c.json<{ ok: boolean }>({ path: '/c' })).ok && server.h2Sessions === 3, { timeoutMs: 5000, intervalMs: 5 });
    assert.equal(c.protocol, 'h2');
    assert.equal(c.currentTransport, transport);
    assert.equal(transport.sessionsOpened, 3);
  });
});

for (const mode of ['http', 'h2'] as const) {
  describe(`watchEvents() over ${mode === 'h2' ? 'HTTP/2' : 'HTTP/1.1'}`, () => {
    it(`events split across chunks (inside multi-byte characters too) in order, the last line without its newline, blank lines skipped`, async () => {
      const lines = [
        JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'ä€😀', resourceVersion: '1' } } }),
        '',
        JSON.stringify({ type: 'MODIFIED', object: { metadata: { name: 'b', resourceVersion: '2' } } }),
        JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '3' } } }),
      ];
      const bytes = Buffer.from(lines.join('\n'));
      const server = await serve(mode, async (_req, res, r) => {
        assert.equal(r.query.get('watch'), 'true');
        const w = openWatch(res);
        for (let i = 0; i < bytes.length; i += 3) {
          res.write(bytes.subarray(i, i + 3));
          await new Promise((resolve) => setImmediate(resolve));
        }
        w.end();
      });
      const seen: WatchEvent[] = [];
      let opened = 0;
      await watchAll(client(server), '/api/v1/pods', {}, undefined, { onOpen: () => opened++ }, seen);
      assert.equal(opened, 1);
      assert.deepEqual(
        seen.map((e) => [e.type, e.object.metadata?.name, e.object.metadata?.resourceVersion]),
        [
          ['ADDED', 'ä€😀', '1'],
          ['MODIFIED', 'b', '2'],
          ['BOOKMARK', undefined, '3'],
        ],
      );
    });

    it(`a malformed line ends the watch with a typed error after the events before it`, async () => {
      const server = await serve(mode, (_req, res) => {
        const w = openWatch(res);
        w.raw(JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a' } } }) + '\n{"type":"ADDED", garbage\n');
      });
      const seen: WatchEvent[] = [];
      await assert.rejects(
        watchAll(client(server), '/api/v1/pods', {}, undefined, {}, seen),
        (err: unknown) => isScaleAgentError(err, 'KUBE_TRANSPORT_ERROR') && err.details.reason === 'MalformedWatchEvent',
      );
      assert.deepEqual(
        seen.map((e) => e.object.metadata?.name),
        ['a'],
      );
    });

    it(`not 200 is KUBE_API_ERROR, silence is KUBE_TIMEOUT, a dropped HTTP/1.1 connection a transport error`, async () => {
      const server = await serve(mode, (_req, res, r) => {
        if (r.query.get('resourceVersion') === 'old') sendJson(res, 410, status(410, 'Expired', 'too old resource version'));
        else if (r.query.get('resourceVersion') === 'drop') {
          openWatch(res).send('ADDED', { metadata: { name: 'a' } });
          setImmediate(() => server.dropConnections());
        } else openWatch(res);
      });
      const c = client(server);
      await assert.rejects(
        watchAll(c, '/api/v1/pods', { resourceVersion: 'old' }, undefined, {}, []),
        (err: unknown) => isScaleAgentError(err, 'KUBE_API_ERROR') && err.details.status === 410,
      );
      await assert.rejects(watchAll(c, '/api/v1/pods', {}, undefined, { idleTimeoutMs: 50 }, []), (err: unknown) => isScaleAgentError(err, 'KUBE_TIMEOUT'));
      // Over HTTP/2 a dropped session ends its streams without an error; the reflector re-watches either way.
      if (mode === 'h2') return;
      const seen: WatchEvent[] = [];
      await assert.rejects(watchAll(c, '/api/v1/pods', { resourceVersion: 'drop' }, undefined, {}, seen), (err: unknown) =>
        isScaleAgentError(err, 'KUBE_TRANSPORT_ERROR'),
      );
      assert.equal(seen.length, 1);
    });

    it(`a stream slower in all than the idle limit, but never silent that long, is not timed out`, async () => {
      const CHUNKS = 12;
      const GAP_MS = 25;
      const server = await serve(mode, async (_req, res) => {
        const w = openWatch(res);
        for (let i = 0; i < CHUNKS; i++) {
          w.send('ADDED', { metadata: { name: `o${i}` } });
          await new Promise((resolve) => setTimeout(resolve, GAP_MS));
        }
        w.end();
      });
      const seen: WatchEvent[] = [];
      await watchAll(client(server), '/api/v1/pods', {}, undefined, { idleTimeoutMs: (CHUNKS * GAP_MS) / 2 }, seen);
      assert.equal(seen.length, CHUNKS);
    });

    it(`the caller's abort ends it with the abort reason; an error the consumer throws ends it as thrown and closes the stream`, async () => {
      let closed = 0;
      const server = await serve(mode, (req, res) => {
        const w = openWatch(res);
        w.send('ADDED', { metadata: { name: 'a' } });
        w.send('ADDED', { metadata: { name: 'b' } });
        res.once('close', () => closed++);
      });
      const c = client(server);
      const controller = new AbortController();
      await assert.rejects(
        watchAll(c, '/api/v1/pods', {}, controller.signal, {}, [], () => controller.abort()),
        (err: unknown) => (err as Error).name === 'AbortError',
      );
      const thrown = new Error('the consumer refused this event');
      const seen: WatchEvent[] = [];
      await assert.rejects(
        watchAll(c, '/api/v1/pods', {}, undefined, {}, seen, () => {
          throw thrown;
        }),
        (err: unknown) => err === thrown,
      );
      assert.equal(seen.length, 1, 'no event after the one the consumer threw on');
      await waitFor(() => closed === 2, { timeoutMs: 5000, intervalMs: 5 });
    });
  });
}

describe('watchEvents() ends where its consumer ended it', () => {
  it("delivers none of a chunk's lines after the consumer aborted the watch on an earlier one", async () => {
    const server = await serve('http', (_req, res) => {
      const w = openWatch(res);
      w.raw(['a', 'b', 'c'].map((name) => JSON.stringify({ type: 'ADDED', object: { metadata: { name } } })).join('\n') + '\n');
    });
    const controller = new AbortController();
    const seen: string[] = [];
    await assert.rejects(
      client(server).watchEvents('/api/v1/pods', {}, controller.signal, {}, (event) => {
        seen.push(event.object.metadata?.name ?? '');
        controller.abort();
      }),
      (err: unknown) => (err as Error).name === 'AbortError',
    );
    assert.deepEqual(seen, ['a']);
  });

  it('rejects, not resolves, when the consumer throws a falsy value', async () => {
    const server = await serve('http', (_req, res) => openWatch(res).send('ADDED', { metadata: { name: 'a' } }));
    const outcome = await client(server)
      .watchEvents('/api/v1/pods', {}, undefined, {}, () => {
        throw undefined;
      })
      .then(
        () => 'resolved',
        (err: unknown) => `rejected with ${String(err)}`,
      );
    assert.equal(outcome, 'rejected with undefined');
  });
});
