// Renders the plain YAML in deploy/manifests/ from the Helm chart, for people without Helm:
//
//   node scripts/render-manifests.mjs           writes deploy/manifests/{agent,infrastructure,hub}.yaml
//   node scripts/render-manifests.mjs --check   exits 1 when a committed file differs from a fresh rendering
//
// Each file is `helm template` of deploy/helm/scale-agent with deploy/manifests/values/<name>.yaml, release
// "scale-agent", with a header. The agent files start with their own Namespace, scale-agent, so that
// `kubectl apply -f <file>` is all it takes (and `kubectl delete -f` removes that namespace too); the hub
// file has none: it runs in Spinnaker's namespace, which exists already and must never be deleted with it.
// test/deploy/chart.test.ts checks that the committed files equal a fresh rendering.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureHelm } from './kubectl.mjs';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CHART = join(root, 'deploy', 'helm', 'scale-agent');
const OUT_DIR = join(root, 'deploy', 'manifests');
const RELEASE = 'scale-agent';
const HELM_TIMEOUT_MS = 60_000;

/**
 * Each plain file: its namespace (where the agent or hub runs), and whether the file creates it (owns it:
 * `kubectl delete -f` deletes it). Spinnaker's namespace belongs to Spinnaker.
 */
export const MANIFESTS = {
  agent: { namespace: 'scale-agent', ownsNamespace: true },
  infrastructure: { namespace: 'scale-agent', ownsNamespace: true },
  hub: { namespace: 'spinnaker', ownsNamespace: false },
};

/** Helm's environment: nothing of the user's (no plugins, repositories or kube context), nothing written to $HOME. */
export function helmEnv() {
  const home = join(tmpdir(), 'scale-agent-helm');
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_DATA_HOME: join(home, 'data'),
  };
}

function header(name, namespace, ownsNamespace) {
  const lines = [
    `# Scale Agent: ${name} — rendered from the Helm chart deploy/helm/scale-agent with`,
    `# deploy/manifests/values/${name}.yaml by scripts/render-manifests.mjs. Do not edit here: change the`,
    '# values file and run `node scripts/render-manifests.mjs`, or install the chart instead.',
    '#',
    `#   kubectl apply -f deploy/manifests/${name}.yaml`,
    '#',
    `# See the values file for what to edit first, and docs/install.md. Everything runs in namespace ${namespace}.`,
  ];
  if (ownsNamespace) {
    lines.push(
      `# This file creates that namespace (the first object below), so \`kubectl delete -f deploy/manifests/${name}.yaml\``,
      `# deletes the namespace ${namespace} too, with everything else in it.`,
    );
  } else {
    lines.push(
      `# The namespace ${namespace} is Spinnaker's and must exist already: this file does not create it, so`,
      `# \`kubectl delete -f deploy/manifests/${name}.yaml\` removes only the hub's objects, never the namespace.`,
    );
  }
  // helm template's output starts with its own document separator.
  if (ownsNamespace) lines.push('---', 'apiVersion: v1', 'kind: Namespace', 'metadata:', `  name: ${namespace}`);
  return lines.join('\n') + '\n';
}

/** Every file's path and fresh content. */
export async function renderManifests() {
  const helm = await ensureHelm();
  return Promise.all(
    Object.entries(MANIFESTS).map(async ([name, { namespace, ownsNamespace }]) => {
      const values = join(OUT_DIR, 'values', `${name}.yaml`);
      const { stdout } = await run(helm, ['template', RELEASE, CHART, '--namespace', namespace, '--values', values], {
        timeout: HELM_TIMEOUT_MS,
        env: helmEnv(),
      });
      return { path: join(OUT_DIR, `${name}.yaml`), content: header(name, namespace, ownsNamespace) + stdout };
    }),
  );
}

if (process.argv[1] !== undefined && existsSync(process.argv[1]) && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const { path, content } of await renderManifests()) {
    if (check) {
      const committed = existsSync(path) ? await readFile(path, 'utf8') : '';
      if (committed !== content) {
        stale++;
        console.error(`${relative(root, path)} differs from a fresh rendering: run node scripts/render-manifests.mjs`);
      }
    } else {
      await writeFile(path, content);
      console.log(`wrote ${relative(root, path)}`);
    }
  }
  process.exit(stale > 0 ? 1 : 0);
}
