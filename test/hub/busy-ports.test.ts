// A part started on a port another process holds stops with one line on stderr that names the setting
// and its value (PORT_UNAVAILABLE), and exit status 1 — not Node's stack. Real processes: the CLI as an
// operator runs it, against a port held by a plain TCP server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { CLI_ENTRY } from '../../src/cli/child-processes.ts';
import { Errors } from '../../src/common/errors.ts';

/** Exit status of a refused start (src/cli/run-command.ts). */
const REFUSED_START_EXIT_CODE = 1;

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI_ENTRY, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
}

describe('a port in use stops a part with one line naming the setting', { timeout: 120_000 }, () => {
  let holder: Server;
  let port: number;
  let dir: string;
  let hubConfig: string;

  before(async () => {
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    port = (holder.address() as AddressInfo).port;
    dir = mkdtempSync(join(tmpdir(), 'scale-agent-busy-ports-'));
    hubConfig = join(dir, 'hub.yaml');
    writeFileSync(hubConfig, toYaml({ grpc: { insecure: true, allowAnyIdentity: true }, database: { url: 'sqlite::memory:' } }));
  });

  after(async () => {
    await new Promise<void>((resolve) => holder.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  const expectOneLine = (result: { code: number | null; stderr: string }, message: string) => {
    assert.equal(result.code, REFUSED_START_EXIT_CODE, result.stderr);
    assert.equal(result.stderr, `scale-agent: ${Errors.PORT_UNAVAILABLE.code}: ${message}\n`);
  };

  test("the hub's REST port (server.port)", async () => {
    const result = await run(['hub', '--config', hubConfig, '--host', '127.0.0.1', '--port', String(port), '--grpc-port', '0']);
    expectOneLine(result, `server.port ${port} is in use on 127.0.0.1: another process listens there; stop it, or set server.port to a free port`);
  });

  test("the hub's gRPC port (grpc.port)", async () => {
    const result = await run(['hub', '--config', hubConfig, '--host', '127.0.0.1', '--port', '0', '--grpc-port', String(port)]);
    expectOneLine(result, `grpc.port ${port} is in use on 127.0.0.1: another process listens there; stop it, or set grpc.port to a free port`);
  });

  test("the sim's port (--port)", async () => {
    const result = await run(['sim', '--host', '127.0.0.1', '--port', String(port), '--clusters', '1']);
    expectOneLine(result, `--port ${port} is in use on 127.0.0.1: another process listens there; stop it, or set --port to a free port`);
  });
});
