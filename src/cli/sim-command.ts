import { Command, InvalidArgumentError, Option } from 'commander';
import { createLogger, type LogFormat } from '../common/logger.ts';
import { Churn } from '../sim/churn.ts';
import { seedSampleApps } from '../sim/sample-apps.ts';
import { startSim } from '../sim/sim-server.ts';
import { SIM_DEFAULTS } from '../sim/sim-options.ts';
import { portUnavailable } from '../common/listen-errors.ts';
import { logFatalErrorsWith } from './fatal-errors.ts';
import { untilSignal } from './run-command.ts';

/** `scale-agent sim`: a Kubernetes API simulator hosting many virtual clusters on one port. */
const DEFAULT_PORT = 6443;
const DEFAULT_CLUSTER_COUNT = 3;

interface SimCommandOptions {
  host: string;
  port: number;
  clusters: number;
  clusterNames?: string[];
  kubeconfigDir?: string;
  token?: string;
  plainHttp: boolean;
  sampleApps: number;
  churn: number;
  bookmarkIntervalMs: number;
  progressNotifyIntervalMs: number;
  openapiSchemas: boolean;
  podStartDelayMs: number;
  historyLimit: number;
  rootCluster?: string;
  logFormat: LogFormat;
}

function nonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a non-negative integer');
  return Number(value);
}

function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a non-negative number');
  return n;
}

function nameList(value: string): string[] {
  const names = value
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  if (names.length === 0) throw new InvalidArgumentError('must name at least one cluster');
  if (new Set(names).size !== names.length) throw new InvalidArgumentError('cluster names must be unique');
  return names;
}

export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description('Run a Kubernetes API simulator: many virtual clusters on one port, at <url>/clusters/<name>')
    .option('--host <host>', 'interface to listen on', SIM_DEFAULTS.host)
    .option('--port <port>', 'port to listen on (0 = any free port)', nonNegativeInt, DEFAULT_PORT)
    .option('--clusters <n>', 'number of clusters, named cluster-1..n', nonNegativeInt, DEFAULT_CLUSTER_COUNT)
    .option('--cluster-names <names>', 'comma-separated cluster names (overrides --clusters)', nameList)
    .option('--kubeconfig-dir <dir>', 'write one kubeconfig per cluster to <dir>/<name>.yaml')
    .option('--token <token>', 'bearer token clients must send (default: random, printed at start)')
    .option('--plain-http', 'serve plain HTTP/1.1 instead of HTTPS with HTTP/2', false)
    .option('--sample-apps <n>', 'Spinnaker-style sample apps to create in every cluster', nonNegativeInt, 0)
    .option('--churn <changesPerSecond>', 'background changes per second across all clusters', nonNegativeNumber, 0)
    .option(
      '--bookmark-interval-ms <ms>',
      'how often a watch may get a BOOKMARK (only once its kind has progressed, as on a real API server)',
      nonNegativeInt,
      SIM_DEFAULTS.bookmarkIntervalMs,
    )
    .option(
      '--progress-notify-interval-ms <ms>',
      'interval of simulated etcd progress notifications, which let quiet kinds get bookmarks (0: none)',
      nonNegativeInt,
      SIM_DEFAULTS.progressNotifyIntervalMs,
    )
    .option(
      '--no-openapi-schemas',
      'serve OpenAPI v3 documents without schemas, so clients compute patches from their compiled-in types (as with an older server)',
    )
    .option('--pod-start-delay-ms <ms>', 'how long new pods stay Pending before Running', nonNegativeInt, SIM_DEFAULTS.podStartDelayMs)
    .option('--history-limit <n>', 'events kept per cluster for watch resumption and paging', nonNegativeInt, SIM_DEFAULTS.historyLimit)
    .option('--root-cluster <name>', 'also serve this cluster at the root path (/api, /apis), for in-cluster clients that take only a host and port')
    .addOption(new Option('--log-format <format>', 'log format').choices(['json', 'text']).default('text'))
    .action(async (options: SimCommandOptions) => {
      const logger = createLogger({ format: options.logFormat, base: { part: 'sim' } });
      logFatalErrorsWith(logger);
      const names = options.clusterNames ?? Array.from({ length: options.clusters }, (_, i) => `cluster-${i + 1}`);
      const sim = await startSim({
        host: options.host,
        port: options.port,
        clusters: names,
        tls: !options.plainHttp,
        ...(options.token !== undefined ? { token: options.token } : {}),
        bookmarkIntervalMs: options.bookmarkIntervalMs,
        progressNotifyIntervalMs: options.progressNotifyIntervalMs,
        openApiSchemas: options.openapiSchemas,
        podStartDelayMs: options.podStartDelayMs,
        historyLimit: options.historyLimit,
        ...(options.rootCluster !== undefined ? { rootCluster: options.rootCluster } : {}),
        logger,
      }).catch((err: unknown) => {
        throw portUnavailable(err, { portKey: '--port', port: options.port, hostKey: '--host', host: options.host }) ?? err;
      });
      if (options.sampleApps > 0) {
        for (const name of names) seedSampleApps(sim.cluster(name), { apps: options.sampleApps });
      }
      const out = process.stdout;
      out.write(`sim listening on ${sim.url} with ${names.length} cluster(s)\n`);
      out.write(`  cluster URL: ${sim.url}/clusters/<name>   token: ${options.token === undefined ? sim.token : '(as given)'}\n`);
      out.write(`  admin: GET ${sim.url}/sim/clusters\n`);
      if (options.kubeconfigDir !== undefined) {
        const paths = await sim.writeKubeconfigs(options.kubeconfigDir);
        for (const path of paths) out.write(`  kubeconfig: ${path}\n`);
      }
      const churn = new Churn({ clusters: () => sim.clusterNames().map((n) => sim.cluster(n)), changesPerSecond: options.churn, logger }).start();
      const signal = await untilSignal();
      logger.info({ signal }, 'sim stopping');
      churn.stop();
      await sim.close();
    });
}
