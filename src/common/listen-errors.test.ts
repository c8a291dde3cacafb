// A listen refused because of its setting becomes PORT_UNAVAILABLE naming the setting and its value;
// real listens on 127.0.0.1 (a port held by another server, an address this machine does not have).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Errors, ScaleAgentError } from './errors.ts';
import { portUnavailable } from './listen-errors.ts';

/** TEST-NET-1 (RFC 5737): never an address of this machine. */
const FOREIGN_ADDRESS = '192.0.2.1';

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
}

async function listenFailure(port: number, host: string): Promise<unknown> {
  const server = createServer();
  try {
    await listen(server, port, host);
  } catch (err) {
    return err;
  }
  server.close();
  throw new Error(`listening on ${host}:${port} succeeded`);
}

test('a port in use: PORT_UNAVAILABLE naming the key, the port and the host, with the errno as the cause', async () => {
  const holder = createServer();
  await listen(holder, 0, '127.0.0.1');
  const port = (holder.address() as AddressInfo).port;
  try {
    const err = portUnavailable(await listenFailure(port, '127.0.0.1'), { portKey: 'server.port', port, hostKey: 'server.host', host: '127.0.0.1' });
    assert.ok(err instanceof ScaleAgentError);
    assert.equal(err.code, Errors.PORT_UNAVAILABLE.code);
    assert.equal(err.message, `server.port ${port} is in use on 127.0.0.1: another process listens there; stop it, or set server.port to a free port`);
    assert.deepEqual(err.details, { key: 'server.port', host: '127.0.0.1', port, errno: 'EADDRINUSE' });
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'EADDRINUSE');
  } finally {
    holder.close();
  }
});

test('an address that is not this machine’s names the host setting', async () => {
  const err = portUnavailable(await listenFailure(0, FOREIGN_ADDRESS), { portKey: 'grpc.port', port: 0, hostKey: 'grpc.host', host: FOREIGN_ADDRESS });
  assert.equal(err?.code, Errors.PORT_UNAVAILABLE.code);
  assert.match(err!.message, /^grpc\.host 192\.0\.2\.1 is not an address of this machine \(grpc\.port 0\)/);
  assert.equal(err!.details.key, 'grpc.host');
});

test('grpc-js quotes the errno in its message only: it is recognised there too', () => {
  const grpcError = new Error('No address added out of total 1 resolved errors: [listen EADDRINUSE: address already in use 127.0.0.1:9091]');
  const err = portUnavailable(grpcError, { portKey: 'grpc.port', port: 9091, hostKey: 'grpc.host', host: '127.0.0.1' });
  assert.equal(err?.message, 'grpc.port 9091 is in use on 127.0.0.1: another process listens there; stop it, or set grpc.port to a free port');
});

test('a privileged port says why; any other failure is not a setting’s and is left to the caller', () => {
  const denied = Object.assign(new Error('listen EACCES: permission denied 0.0.0.0:80'), { code: 'EACCES' });
  const err = portUnavailable(denied, { portKey: '--sim-port', port: 80, hostKey: '--host', host: '0.0.0.0' });
  assert.match(err!.message, /^--sim-port 80 cannot be opened on 0\.0\.0\.0: ports below 1024 need privileges/);
  assert.equal(portUnavailable(new Error('something else'), { portKey: 'server.port', port: 1, hostKey: 'server.host', host: 'h' }), undefined);
  assert.equal(
    portUnavailable(Object.assign(new Error('x'), { code: 'ECONNRESET' }), { portKey: 'server.port', port: 1, hostKey: 'server.host', host: 'h' }),
    undefined,
  );
});
