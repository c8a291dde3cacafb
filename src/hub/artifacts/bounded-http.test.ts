// The artifact HTTP client against real servers on loopback: the default network rules refuse loopback,
// private, link-local and IPv6 loopback addresses, names resolving to them, and redirects to them, before
// any connection; with 127.0.0.1 allowed, the limits hold (size, time, redirects), credentials stay with
// their origin across redirects, and an upstream error is a typed failure quoting its status.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Errors } from '../../common/errors.ts';
import { AddressPolicy } from './address-policy.ts';
import { BoundedHttpClient, type HttpLimits, type Resolver } from './bounded-http.ts';
import { FetchSlots } from './fetch-slots.ts';
import { refusal } from './testing/refusal.ts';

const LIMITS: HttpLimits = { maxBytes: 64 * 1024, timeoutMs: 5_000, connectTimeoutMs: 2_000, maxRedirects: 3 };
const LOOPBACK_ALLOWED = new AddressPolicy({ allow: ['127.0.0.1'], deny: [], allowPublic: true });
const DEFAULT_RULES = new AddressPolicy({ allow: [], deny: [], allowPublic: true });

interface Seen {
  url: string;
  headers: IncomingHttpHeaders;
}

const servers: Server[] = [];
after(() => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve)))));

async function serve(handler: RequestListener): Promise<{ origin: string; seen: Seen[]; server: Server; connections: () => number }> {
  const seen: Seen[] = [];
  let connections = 0;
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  server.on('connection', () => (connections += 1));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server, connections: () => connections };
}

test('the default rules refuse loopback, private, metadata and IPv6 loopback addresses, and names and redirects that lead there', async () => {
  const target = await serve((_req, res) => res.end('secret'));
  const port = new URL(target.origin).port;
  const client = new BoundedHttpClient(LIMITS, DEFAULT_RULES);
  for (const [url, address] of [
    [`${target.origin}/x`, '127.0.0.1'],
    ['http://10.0.0.1/x', '10.0.0.1'],
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254'],
    [`http://[::1]:${port}/x`, '::1'],
    [`http://[::ffff:127.0.0.1]:${port}/x`, '127.0.0.1'],
  ] as const) {
    const message = await refusal(client.get({ url }), Errors.ARTIFACT_ADDRESS_REFUSED.code);
    assert.match(message, new RegExp(`the address ${address.replace(/\./g, '\\.')} .*is not allowed: .*refused unless artifacts.network.allow lists it`), url);
  }
  // A name resolving to loopback (the system resolver's localhost), refused at the lookup the socket uses.
  const localhost = await refusal(client.get({ url: `http://localhost:${port}/x` }), Errors.ARTIFACT_ADDRESS_REFUSED.code);
  assert.match(localhost, /the address (127\.0\.0\.1|::1) \(localhost\) is not allowed/);
  assert.equal(target.connections(), 0, 'not even a connection reached the loopback server');

  // An allowed host redirecting to refused ones: the redirect is checked like the first URL.
  const allowedHost: Resolver = async (hostname) => (hostname === 'artifacts.example' ? [{ address: '127.0.0.1', family: 4 }] : []);
  const redirector = await serve((req, res) => {
    res.writeHead(302, { location: req.url === '/to-metadata' ? 'http://169.254.169.254/latest/meta-data/' : `http://[::1]:${port}/` }).end();
  });
  const viaRedirect = new BoundedHttpClient(LIMITS, LOOPBACK_ALLOWED, allowedHost);
  const redirectPort = new URL(redirector.origin).port;
  assert.match(
    await refusal(viaRedirect.get({ url: `http://artifacts.example:${redirectPort}/to-metadata` }), Errors.ARTIFACT_ADDRESS_REFUSED.code),
    /169\.254\.169\.254 is not allowed: 169\.254\.0\.0\/16 is link-local/,
  );
  assert.match(await refusal(viaRedirect.get({ url: `http://artifacts.example:${redirectPort}/to-loopback6` }), Errors.ARTIFACT_ADDRESS_REFUSED.code), /::1/);
  assert.equal(redirector.seen.length, 2, 'the allowed host was asked; the refused targets were not');
  assert.equal(target.connections(), 0);

  // A name whose resolution turns to a refused address (DNS rebinding): judged at the connection's own lookup.
  const rebinding: Resolver = async () => [{ address: '127.0.0.1', family: 4 }];
  const rebound = new BoundedHttpClient(LIMITS, DEFAULT_RULES, rebinding);
  assert.match(await refusal(rebound.get({ url: `http://public.example:${port}/` }), Errors.ARTIFACT_ADDRESS_REFUSED.code), /127\.0\.0\.1 \(public\.example\)/);
  assert.equal(target.connections(), 0);
});

test('only http and https are fetched, and credentials in a URL are refused', async () => {
  const client = new BoundedHttpClient(LIMITS, LOOPBACK_ALLOWED);
  assert.match(await refusal(client.get({ url: 'file:///etc/passwd' }), Errors.ARTIFACT_ADDRESS_REFUSED.code), /only http and https/);
  assert.match(await refusal(client.get({ url: 'gopher://127.0.0.1/' }), Errors.ARTIFACT_ADDRESS_REFUSED.code), /only http and https/);
  const toFile = await serve((_req, res) => res.writeHead(301, { location: 'file:///etc/passwd' }).end());
  assert.match(await refusal(client.get({ url: toFile.origin }), Errors.ARTIFACT_ADDRESS_REFUSED.code), /only http and https/);
  await refusal(client.get({ url: `http://user:pw@127.0.0.1:1/` }), Errors.ARTIFACT_REQUEST_INVALID.code);
});

test('a body over maxBytes is ARTIFACT_TOO_LARGE, declared or streamed', async () => {
  const big = Buffer.alloc(LIMITS.maxBytes + 1, 'a');
  const server = await serve((req, res) => {
    if (req.url === '/declared') res.writeHead(200, { 'content-length': String(big.length) }).end(big);
    else if (req.url === '/chunked') {
      res.writeHead(200);
      res.write(big.subarray(0, LIMITS.maxBytes));
      res.end(big.subarray(LIMITS.maxBytes));
    } else res.end(big.subarray(1));
  });
  const client = new BoundedHttpClient(LIMITS, LOOPBACK_ALLOWED);
  assert.match(await refusal(client.get({ url: `${server.origin}/declared` }), Errors.ARTIFACT_TOO_LARGE.code), /65537 bytes; at most 65536 are read/);
  assert.match(await refusal(client.get({ url: `${server.origin}/chunked` }), Errors.ARTIFACT_TOO_LARGE.code), /more than 65536 bytes/);
  assert.equal((await client.get({ url: `${server.origin}/exact` })).body.length, LIMITS.maxBytes, 'exactly maxBytes is read');
});

test('a server that never answers is ARTIFACT_FETCH_TIMEOUT at timeoutMs', async () => {
  const silent = await serve(() => undefined);
  const client = new BoundedHttpClient({ ...LIMITS, timeoutMs: 150 }, LOOPBACK_ALLOWED);
  const startedAt = Date.now();
  assert.match(await refusal(client.get({ url: `${silent.origin}/` }), Errors.ARTIFACT_FETCH_TIMEOUT.code), /took longer than 150 ms \(artifacts.timeoutMs\)/);
  assert.ok(Date.now() - startedAt < LIMITS.timeoutMs, 'bounded by the configured timeout');
  assert.equal(silent.seen.length, 1);
});

test('redirects beyond maxRedirects fail, each one a new request', async () => {
  const loop = await serve((req, res) => res.writeHead(302, { location: `/hop${Number(req.url!.slice(4) || 0) + 1}` }).end());
  const client = new BoundedHttpClient(LIMITS, LOOPBACK_ALLOWED);
  assert.match(await refusal(client.get({ url: `${loop.origin}/hop0` }), Errors.ARTIFACT_FETCH_FAILED.code), /redirected more than 3 times/);
  assert.deepEqual(
    loop.seen.map((s) => s.url),
    ['/hop0', '/hop1', '/hop2', '/hop3'],
  );
});

test('credentials go to their origin only: a redirect to another origin goes without them', async () => {
  const other = await serve((_req, res) => res.end('elsewhere'));
  const first = await serve((req, res) => {
    if (req.url === '/same') res.writeHead(307, { location: '/final' }).end();
    else if (req.url === '/final') res.end('here');
    else res.writeHead(302, { location: `${other.origin}/file` }).end();
  });
  const client = new BoundedHttpClient(LIMITS, LOOPBACK_ALLOWED);
  const request = { headers: { accept: 'application/json' }, credentials: { authorization: 'token s3cr3t', 'private-token': 't0k3n' } };
  assert.equal((await client.get({ url: `${first.origin}/away`, ...request })).body.toString(), 'elsewhere');
  assert.equal(first.seen[0]!.headers.authorization, 'token s3cr3t');
  assert.equal(other.seen[0]!.headers.authorization, undefined);
  assert.equal(other.seen[0]!.headers['private-token'], undefined);
  assert.equal(other.seen[0]!.headers.accept, 'application/json', 'plain headers follow the redirect');
  assert.equal((await client.get({ url: `${first.origin}/same`, ...request })).body.toString(), 'here');
  assert.equal(first.seen.at(-1)!.headers.authorization, 'token s3cr3t', 'a redirect within the origin keeps them');
});

test('an error answer is ARTIFACT_FETCH_FAILED naming the URL (without its query) and quoting the status and body', async () => {
  const server = await serve((_req, res) => res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"Bad credentials"}'));
  const client = new BoundedHttpClient(LIMITS, LOOPBACK_ALLOWED);
  const message = await refusal(client.get({ url: `${server.origin}/repos/o/r/contents/a.yaml?ref=main&token=abc` }), Errors.ARTIFACT_FETCH_FAILED.code);
  assert.equal(message, `${server.origin}/repos/o/r/contents/a.yaml answered 401: {"message":"Bad credentials"}`);
  const closed = `http://127.0.0.1:${new URL(server.origin).port}`;
  await new Promise((resolve) => server.server.close(resolve));
  assert.match(await refusal(client.get({ url: `${closed}/x` }), Errors.ARTIFACT_FETCH_FAILED.code), /ECONNREFUSED/);
});

test("a reference that is not a URL is quoted without its user info and query; a bad redirect is the server's fault (502)", async () => {
  const client = new BoundedHttpClient(LIMITS, LOOPBACK_ALLOWED);
  const message = await refusal(client.get({ url: 'https://user:ghp_SECRETTOKEN@exa mple.com/x?access_token=abc' }), Errors.ARTIFACT_REQUEST_INVALID.code);
  assert.equal(message, '"https://…@exa mple.com/x?…" is not a URL');
  assert.doesNotMatch(
    await refusal(client.get({ url: 'https://u:pa/ss?w@rd@bad host/' }), Errors.ARTIFACT_REQUEST_INVALID.code),
    /pa|ss|w@rd/,
    'whatever precedes the last @ may be a password',
  );
  const redirects = await serve((req, res) => {
    const location = req.url === '/userinfo' ? 'http://admin:hunter2@127.0.0.1:9/x' : 'http://[bad/';
    res.writeHead(302, { location }).end();
  });
  const userinfo = await refusal(client.get({ url: `${redirects.origin}/userinfo` }), Errors.ARTIFACT_FETCH_FAILED.code);
  assert.equal(userinfo, `${redirects.origin}/userinfo redirected to http://127.0.0.1:9/x with credentials in the URL, which is not followed`);
  assert.match(
    await refusal(client.get({ url: `${redirects.origin}/broken` }), Errors.ARTIFACT_FETCH_FAILED.code),
    /redirected to "http:\/\/\[bad\/", which is not a URL/,
  );
});

test('a request may have a smaller body bound than maxBytes, named in the refusal; a declared body is read whole, a short one fails', async () => {
  const body = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
  const server = await serve((req, res) => {
    if (req.url === '/short') {
      res.writeHead(200, { 'content-length': String(body.length) });
      res.write(body.subarray(0, 100), () => res.destroy());
    } else res.writeHead(200, { 'content-length': String(body.length) }).end(body);
  });
  const client = new BoundedHttpClient(LIMITS, LOOPBACK_ALLOWED);
  assert.ok((await client.get({ url: `${server.origin}/whole` })).body.equals(body));
  assert.equal(
    await refusal(
      client.get({ url: `${server.origin}/whole`, maxBytes: { limit: 4096, key: 'artifacts.helm.indexMaxBytes' } }),
      Errors.ARTIFACT_TOO_LARGE.code,
    ),
    `${server.origin}/whole is 5000 bytes; at most 4096 are read (artifacts.helm.indexMaxBytes)`,
  );
  await refusal(client.get({ url: `${server.origin}/short` }), Errors.ARTIFACT_FETCH_FAILED.code);
});

test('at most maxConcurrent fetches reach upstream at once; a full queue is ARTIFACT_FETCH_BUSY at once', async () => {
  const held: Array<() => void> = [];
  let active = 0;
  let peak = 0;
  const arrivals: Array<() => void> = [];
  const server = await serve((_req, res) => {
    active += 1;
    peak = Math.max(peak, active);
    held.push(() => {
      active -= 1;
      res.end('done');
    });
    arrivals.splice(0).forEach((wake) => wake());
  });
  const heldCount = (n: number) =>
    new Promise<void>((resolve) => {
      const check = () => (held.length >= n ? resolve() : arrivals.push(check));
      check();
    });
  const slots = new FetchSlots({ maxConcurrent: 2, maxQueued: 1 });
  const client = new BoundedHttpClient(LIMITS, LOOPBACK_ALLOWED, undefined, slots);
  const fetches = [1, 2, 3].map((i) => client.get({ url: `${server.origin}/${i}` }));
  await heldCount(2);
  assert.deepEqual([slots.running(), slots.queued()], [2, 1]);
  const busy = client.get({ url: `${server.origin}/4` });
  assert.match(await refusal(busy, Errors.ARTIFACT_FETCH_BUSY.code), /2 artifact fetches are running \(artifacts\.maxConcurrentFetches\) and 1 waiting/);
  held.shift()!();
  await heldCount(2); // the queued fetch took the freed slot
  held.splice(0).forEach((release) => release());
  const bodies = await Promise.all(fetches);
  assert.deepEqual(
    bodies.map((b) => b.body.toString()),
    ['done', 'done', 'done'],
  );
  assert.equal(peak, 2);
  assert.deepEqual([slots.running(), slots.queued()], [0, 0]);
  assert.equal(server.seen.length, 3, 'the refused fetch never reached the server');
});
