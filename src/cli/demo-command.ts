import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import { createCertificateAuthority, issueCertificate } from '../common/pki.ts';
import { waitFor } from '../common/time.ts';
import { ChildProcessGroup } from './child-processes.ts';
import { untilSignal } from './run-command.ts';

interface DemoFlags {
  clusters: string;
  dir: string;
  restPort: string;
  grpcPort: string;
  simPort: string;
  agentPort: string;
  sampleApps: string;
  churn: string;
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

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Run the whole loop on one machine: a simulated Kubernetes with sample apps and churn, the hub (SQLite) and one agent, as separate processes.')
    .option('--clusters <n>', 'virtual clusters (accounts) in the sim', '3')
    .option('--dir <dir>', 'working directory for the database, kubeconfigs and configs', '.scale-agent')
    .option('--rest-port <port>', 'hub REST port', '7002')
    .option('--grpc-port <port>', 'hub gRPC port', '9091')
    .option('--sim-port <port>', 'sim (Kubernetes API) port', '6443')
    .option('--agent-port <port>', 'agent admin port', '8082')
    .option('--sample-apps <n>', 'sample applications per cluster', '3')
    .option('--churn <n>', 'changes per second the sim makes across clusters', '2')
    .action(async (flags: DemoFlags) => {
      const dir = resolve(flags.dir);
      const kubeconfigDir = join(dir, 'kubeconfigs');
      mkdirSync(kubeconfigDir, { recursive: true });
      // The sim's clusters live in its memory: each demo starts new ones (new kube-system UIDs), so a
      // database kept from an earlier run would hold their names for clusters that no longer exist and
      // refuse them (ACCOUNT_OWNED_BY_OTHER_CLUSTER). The demo's hub starts from an empty one.
      const database = join(dir, 'hub.db');
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${database}${suffix}`, { force: true });
      const clusters = Number.parseInt(flags.clusters, 10);
      const names = Array.from({ length: clusters }, (_, i) => `cluster-${i + 1}`);
      const rest = `http://127.0.0.1:${flags.restPort}`;
      const group = new ChildProcessGroup();

      const stop = async (code: number) => {
        await group.stopAll();
        process.exit(code);
      };
      group.onUnexpectedExit((name, code) => {
        process.stderr.write(`demo: ${name} exited unexpectedly (code ${code}); stopping everything\n`);
        void stop(1);
      });

      try {
        group.start('sim', [
          'sim',
          '--port',
          flags.simPort,
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
        await waitFor(() => group.output('sim').includes('kubeconfig'), { timeoutMs: START_TIMEOUT_MS, what: 'the sim to start' });

        const tls = await writeDemoCertificates(join(dir, 'tls'));
        const hubConfigPath = join(dir, 'hub.yaml');
        writeFileSync(
          hubConfigPath,
          toYaml({
            grpc: { tls: { certFile: tls.hub.certFile, keyFile: tls.hub.keyFile, clientCaFile: tls.caFile, clientAuth: 'require' } },
            identities: [{ name: 'demo-agent', match: { subject: 'demo-agent' }, accounts: ['cluster-*'] }],
          }),
        );
        group.start('hub', [
          'hub',
          '--config',
          hubConfigPath,
          '--host',
          '127.0.0.1',
          '--port',
          flags.restPort,
          '--grpc-port',
          flags.grpcPort,
          '--database',
          `sqlite:${database}`,
          '--log-format',
          'text',
        ]);
        await waitFor(async () => (await fetch(`${rest}/health`).catch(() => undefined))?.ok, {
          timeoutMs: START_TIMEOUT_MS,
          what: 'the hub to answer /health',
        });

        const agentConfigPath = join(dir, 'agent.yaml');
        writeFileSync(
          agentConfigPath,
          toYaml({
            agent: { id: 'demo-agent' },
            clouddriver: {
              grpc: `127.0.0.1:${flags.grpcPort}`,
              tls: { cacertFile: tls.caFile, serverName: 'localhost', clientCertFile: tls.agent.certFile, clientKeyFile: tls.agent.keyFile },
            },
            server: { host: '127.0.0.1', port: Number.parseInt(flags.agentPort, 10) },
            kubernetes: { accounts: names.map((name) => ({ name, kubeconfigFile: join(kubeconfigDir, `${name}.yaml`) })) },
            logging: { format: 'text' },
          }),
        );
        group.start('agent', ['agent', '--config', agentConfigPath]);
        await waitFor(
          async () => {
            const response = await fetch(`${rest}/credentials`).catch(() => undefined);
            if (!response?.ok) return false;
            const accounts = (await response.json()) as unknown[];
            return accounts.length >= clusters;
          },
          { timeoutMs: START_TIMEOUT_MS, what: 'the agent to register its accounts' },
        );
        // --clusters is at least 1 (its parser refuses less).
        const account = names[0]!;
        await waitFor(async () => (await fetch(`${rest}/manifests/${account}/team-a/deployment%20app-0`).catch(() => undefined))?.ok, {
          timeoutMs: START_TIMEOUT_MS,
          what: 'the first sample application to reach the cache',
        });

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
          `  hub gRPC (agents dial here)  127.0.0.1:${flags.grpcPort}  (mTLS; CA and certificates in ${tls.dir}; configs ${hubConfigPath}, ${agentConfigPath})`,
          `  agent admin                  http://127.0.0.1:${flags.agentPort}  (/health, /accounts, /watches, /metrics)`,
          `  sim (Kubernetes API)         https://127.0.0.1:${flags.simPort}/clusters/<name>, kubeconfigs in ${kubeconfigDir}`,
          `  database                     ${join(dir, 'hub.db')}`,
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
        process.stderr.write(`demo: ${(err as Error).message}\n`);
        await stop(1);
        return;
      }
      await untilSignal();
      process.stdout.write('demo: stopping…\n');
      await stop(0);
    });
}
