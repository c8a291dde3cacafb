import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import { errorMessage } from '../common/errors.ts';
import { portUnavailable } from '../common/listen-errors.ts';
import { createCertificateAuthority, issueCertificate } from '../common/pki.ts';
import { waitFor } from '../common/time.ts';
import { ChildProcessGroup } from './child-processes.ts';
import { DemoState } from './demo-state.ts';

interface DemoFlags {
  clusters: number;
  dir: string;
  restPort: number;
  grpcPort: number;
  simPort: number;
  agentPort: number;
  sampleApps: string;
  churn: string;
}

/** Every part of the demo listens on the loopback interface only. */
const DEMO_HOST = '127.0.0.1';
const MAX_PORT = 65535;

function port(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_PORT) throw new InvalidArgumentError(`must be a port number (1-${MAX_PORT})`);
  return Number(value);
}

function clusterCount(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('must be at least 1');
  return Number(value);
}

/** How long the demo waits for each part to come up before giving up with the part's name. */
const START_TIMEOUT_MS = 60_000;

function sampleDeploy(account: string): unknown {
  return [
    {
      deployManifest: {
        account,
        cloudProvider: 'kubernetes',
        source: 'text',
        moniker: { app: 'hello' },
        manifests: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name: 'hello', namespace: 'default' },
            spec: {
              replicas: 2,
              selector: { matchLabels: { app: 'hello' } },
              template: { metadata: { labels: { app: 'hello' } }, spec: { containers: [{ name: 'hello', image: 'nginx:1.27' }] } },
            },
          },
        ],
      },
    },
  ];
}

interface DemoTls {
  dir: string;
  caFile: string;
  hub: { certFile: string; keyFile: string };
  agent: { certFile: string; keyFile: string };
}

/**
 * A CA, a hub certificate (localhost, 127.0.0.1) and a client certificate for the demo agent (CN demo-agent),
 * new at every start, so the demo runs the agent-hub link the way production should: mTLS, with the
 * agent's identity limited to the demo's accounts.
 */
async function writeDemoCertificates(dir: string): Promise<DemoTls> {
  mkdirSync(dir, { recursive: true });
  const ca = await createCertificateAuthority({ commonName: 'scale-agent demo CA' });
  const hub = await issueCertificate({ ca, commonName: 'scale-agent hub', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
  const agent = await issueCertificate({ ca, commonName: 'demo-agent', uris: ['spiffe://scale-agent.demo/agent/demo-agent'], usage: 'client' });
  const out: DemoTls = {
    dir,
    caFile: join(dir, 'ca.pem'),
    hub: { certFile: join(dir, 'hub.pem'), keyFile: join(dir, 'hub-key.pem') },
    agent: { certFile: join(dir, 'agent.pem'), keyFile: join(dir, 'agent-key.pem') },
  };
  writeFileSync(out.caFile, ca.certPem);
  writeFileSync(out.hub.certFile, hub.certPem);
  writeFileSync(out.hub.keyFile, hub.keyPem, { mode: 0o600 });
  writeFileSync(out.agent.certFile, agent.certPem);
  writeFileSync(out.agent.keyFile, agent.keyPem, { mode: 0o600 });
  return out;
}

function sampleDelete(account: string): unknown {
  return [{ deleteManifest: { account, cloudProvider: 'kubernetes', manifestName: 'deployment hello', location: 'default', options: { cascading: true } } }];
}

/**
 * Checks that each port is free on the demo's host before anything starts, so that a busy one stops the
 * demo with the flag that sets it (`--rest-port 7002 is in use …`) rather than a part's failure, or worse,
 * a check answered by whatever holds the port.
 */
async function checkPortsFree(ports: Record<string, number>): Promise<void> {
  for (const [flag, value] of Object.entries(ports)) {
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(value, DEMO_HOST, () => resolve());
    }).catch((err: unknown) => {
      throw portUnavailable(err, { portKey: flag, port: value, hostKey: 'the demo host', host: DEMO_HOST }) ?? err;
    });
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  }
}

/** A part that exited while the demo still needed it: the demo is not running any more. */
class PartExited extends Error {}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Run the whole loop on one machine: a simulated Kubernetes with sample apps and churn, the hub (SQLite) and one agent, as separate processes.')
    .option('--clusters <n>', 'virtual clusters (accounts) in the sim', clusterCount, 3)
    .option('--dir <dir>', 'working directory for the database, kubeconfigs and configs (reset at every start)', '.scale-agent')
    .option('--rest-port <port>', 'hub REST port', port, 7002)
    .option('--grpc-port <port>', 'hub gRPC port', port, 9091)
    .option('--sim-port <port>', 'sim (Kubernetes API) port', port, 6443)
    .option('--agent-port <port>', 'agent admin port', port, 8082)
    .option('--sample-apps <n>', 'sample applications per cluster', '3')
    .option('--churn <n>', 'changes per second the sim makes across clusters', '2')
    .action(async (flags: DemoFlags) => {
      const dir = resolve(flags.dir);
      const kubeconfigDir = join(dir, 'kubeconfigs');
      mkdirSync(kubeconfigDir, { recursive: true });
      // Before anything in the directory is touched: another demo running there is left alone (its
      // database is in use), and the parts of one that was killed are stopped (they hold the ports).
      const state = new DemoState(dir);
      const claim = await state.claim();
      for (const { part, pid } of claim.stopped) process.stdout.write(`demo: stopped the ${part} (pid ${pid}) an earlier demo in ${dir} left running\n`);
      for (const { part, pid } of claim.unverified) {
        process.stdout.write(
          `demo: an earlier demo in ${dir} recorded its ${part} as pid ${pid}, which still runs but cannot be checked; stop it if it is that ${part}\n`,
        );
      }
      try {
        await checkPortsFree({ '--sim-port': flags.simPort, '--rest-port': flags.restPort, '--grpc-port': flags.grpcPort, '--agent-port': flags.agentPort });
      } catch (err) {
        state.release();
        throw err;
      }
      // The sim's clusters live in its memory: each demo starts new ones (new kube-system UIDs), so a
      // database kept from an earlier run would hold their names for clusters that no longer exist and
      // refuse them (ACCOUNT_OWNED_BY_OTHER_CLUSTER). The demo's hub starts from an empty one.
      const database = join(dir, 'hub.db');
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${database}${suffix}`, { force: true });
      const clusters = flags.clusters;
      const names = Array.from({ length: clusters }, (_, i) => `cluster-${i + 1}`);
      const rest = `http://${DEMO_HOST}:${flags.restPort}`;
      const group = new ChildProcessGroup();
      const start = (part: string, args: string[]) => state.recordPart(part, group.start(part, args).pid, args);

      // Asked to stop (Ctrl-C reaches every part at once, so their exits are expected from here on).
      let stopping = false;
      const stopSignal = new Promise<NodeJS.Signals>((resolveSignal) => {
        const onSignal = (signal: NodeJS.Signals) => {
          stopping = true;
          resolveSignal(signal);
        };
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
      });
      // Rejects when a part exits on its own: no wait, and no banner, outlives it.
      let exited: (err: PartExited) => void = () => undefined;
      const partExited = new Promise<never>((_, reject) => (exited = reject));
      partExited.catch(() => undefined);
      group.onUnexpectedExit((name, code) => {
        if (!stopping) exited(new PartExited(`the ${name} exited unexpectedly (code ${code}); see its lines above`));
      });
      const until = <T>(what: string, check: () => T | Promise<T>) =>
        Promise.race([
          waitFor(check, { timeoutMs: START_TIMEOUT_MS, what }),
          partExited,
          stopSignal.then(() => Promise.reject(new PartExited('stopped while starting'))),
        ]);
      const stopAll = async (code: number) => {
        await group.stopAll();
        state.release();
        process.exit(code);
      };

      try {
        start('sim', [
          'sim',
          '--port',
          String(flags.simPort),
          '--clusters',
          String(clusters),
          '--kubeconfig-dir',
          kubeconfigDir,
          '--sample-apps',
          flags.sampleApps,
          '--churn',
          flags.churn,
          '--log-format',
          'text',
        ]);
        await until('the sim to start', () => group.output('sim').includes('kubeconfig'));

        const tls = await writeDemoCertificates(join(dir, 'tls'));
        const hubConfigPath = join(dir, 'hub.yaml');
        writeFileSync(
          hubConfigPath,
          toYaml({
            grpc: { tls: { certFile: tls.hub.certFile, keyFile: tls.hub.keyFile, clientCaFile: tls.caFile, clientAuth: 'require' } },
            identities: [{ name: 'demo-agent', match: { subject: 'demo-agent' }, accounts: ['cluster-*'] }],
          }),
        );
        start('hub', [
          'hub',
          '--config',
          hubConfigPath,
          '--host',
          DEMO_HOST,
          '--port',
          String(flags.restPort),
          '--grpc-port',
          String(flags.grpcPort),
          '--database',
          `sqlite:${database}`,
          '--log-format',
          'text',
        ]);
        // Its own word first (the port was free, so what answers there next is this hub), then its readiness.
        await until('the hub to start', () => group.output('hub').includes('hub started'));
        await until('the hub to be ready', async () => (await fetch(`${rest}/health/readiness`).catch(() => undefined))?.ok);

        const agentConfigPath = join(dir, 'agent.yaml');
        writeFileSync(
          agentConfigPath,
          toYaml({
            agent: { id: 'demo-agent' },
            clouddriver: {
              grpc: `${DEMO_HOST}:${flags.grpcPort}`,
              tls: { cacertFile: tls.caFile, serverName: 'localhost', clientCertFile: tls.agent.certFile, clientKeyFile: tls.agent.keyFile },
            },
            server: { host: DEMO_HOST, port: flags.agentPort },
            kubernetes: { accounts: names.map((name) => ({ name, kubeconfigFile: join(kubeconfigDir, `${name}.yaml`) })) },
            logging: { format: 'text' },
          }),
        );
        start('agent', ['agent', '--config', agentConfigPath]);
        await until('the agent to register its accounts, connected', async () => {
          const response = await fetch(`${rest}/credentials`).catch(() => undefined);
          if (!response?.ok) return false;
          const accounts = (await response.json()) as Array<{ name: string; agent?: { status?: string } }>;
          return names.every((name) => accounts.some((a) => a.name === name && a.agent?.status === 'connected'));
        });
        // --clusters is at least 1 (its parser refuses less).
        const account = names[0]!;
        await until(
          'the first sample application to reach the cache',
          async () => (await fetch(`${rest}/manifests/${account}/team-a/deployment%20app-0`).catch(() => undefined))?.ok,
        );

        const deployFile = join(dir, 'deploy-hello.json');
        const deleteFile = join(dir, 'delete-hello.json');
        writeFileSync(deployFile, JSON.stringify(sampleDeploy(account), null, 2));
        writeFileSync(deleteFile, JSON.stringify(sampleDelete(account), null, 2));
        const submitted = (await (
          await fetch(`${rest}/kubernetes/ops`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(sampleDeploy(account)),
          })
        ).json()) as { id: string };

        const lines = [
          '',
          'Scale Agent demo is running (Ctrl-C stops everything).',
          '',
          `  hub REST (Clouddriver API)   ${rest}`,
          `  status pages (browser)       ${rest}/  and  http://${DEMO_HOST}:${flags.agentPort}/  (the agent's)`,
          `  hub gRPC (agents dial here)  ${DEMO_HOST}:${flags.grpcPort}  (mTLS; CA and certificates in ${tls.dir}; configs ${hubConfigPath}, ${agentConfigPath})`,
          `  agent admin                  http://${DEMO_HOST}:${flags.agentPort}  (/health, /accounts, /watches, /metrics)`,
          `  sim (Kubernetes API)         https://${DEMO_HOST}:${flags.simPort}/clusters/<name>, kubeconfigs in ${kubeconfigDir}`,
          `  database                     ${database}  (new at every start: the sim's clusters are new too)`,
          '',
          'Try:',
          `  curl -s ${rest}/health`,
          `  curl -s ${rest}/credentials`,
          `  curl -s ${rest}/credentials/${account}`,
          `  curl -s ${rest}/manifests/${account}/team-a/deployment%20app-0`,
          `  curl -s ${rest}/applications`,
          `  curl -s ${rest}/applications/app-0/serverGroups`,
          `  curl -s ${rest}/applications/app-0/loadBalancers`,
          `  curl -s '${rest}/search?q=app-0&type=serverGroups'`,
          `  curl -s -X POST -H 'content-type: application/json' --data @${deployFile} ${rest}/kubernetes/ops`,
          `  curl -s ${rest}/task/${submitted.id}          (the demo already deployed 'hello' once; this is its task)`,
          `  curl -s ${rest}/manifests/${account}/default/deployment%20hello`,
          `  curl -s -X POST -H 'content-type: application/json' --data @${deleteFile} ${rest}/kubernetes/ops`,
          `  kubectl --kubeconfig ${join(kubeconfigDir, `${account}.yaml`)} get deployments -A`,
          '',
        ];
        process.stdout.write(lines.join('\n') + '\n');
      } catch (err) {
        if (stopping) {
          process.stdout.write('demo: stopping…\n');
          await stopAll(0);
          return;
        }
        process.stderr.write(`demo: ${errorMessage(err)}; the demo is not running, stopping everything\n`);
        await stopAll(1);
        return;
      }
      try {
        await Promise.race([stopSignal, partExited]);
      } catch (err) {
        process.stderr.write(`demo: ${errorMessage(err)}: the demo is NOT running any more, stopping everything\n`);
        await stopAll(1);
        return;
      }
      process.stdout.write('demo: stopping…\n');
      await stopAll(0);
    });
}
