import { setLogger } from '@grpc/grpc-js';
import type { Command } from 'commander';
import { loadConfigFile } from '../common/config.ts';
import { createLoggerFromConfig } from '../common/logger.ts';
import { hubConfigSchema, DEFAULT_GRPC_PORT, DEFAULT_REST_PORT } from '../hub/config.ts';
import { startHub } from '../hub/hub.ts';
import { logFatalErrorsWith } from './fatal-errors.ts';
import { untilSignal } from './run-command.ts';

interface HubFlags {
  config?: string;
  port?: string;
  grpcPort?: string;
  host?: string;
  database?: string;
  logFormat?: 'json' | 'text';
}

function int(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Number.parseInt(value, 10);
}

export function registerHubCommand(program: Command): void {
  program
    .command('hub')
    .description('Run the hub: the gRPC endpoint agents dial, the SQL cache, and the Clouddriver-compatible REST API.')
    .option('-c, --config <file>', 'YAML configuration file (see docs/configuration.md)')
    .option('--host <host>', 'address for both listeners (server.host and grpc.host), default 0.0.0.0')
    .option('--port <port>', `REST port (server.port), default ${DEFAULT_REST_PORT}`)
    .option('--grpc-port <port>', `gRPC port for agents (grpc.port), default ${DEFAULT_GRPC_PORT}`)
    .option('--database <url>', 'database URL (database.url), default sqlite:.scale-agent/hub.db')
    .option('--log-format <format>', 'json or text (logging.format), default json')
    .action(async (flags: HubFlags) => {
      const config = loadConfigFile(hubConfigSchema, flags.config, {
        server: { host: flags.host, port: int(flags.port) },
        grpc: { host: flags.host, port: int(flags.grpcPort) },
        database: { url: flags.database },
        logging: { format: flags.logFormat },
      });
      const logger = createLoggerFromConfig(config.logging, { part: 'hub' });
      logFatalErrorsWith(logger);
      // grpc-js writes its own diagnostics to stderr, unformatted (a failed bind adds a line of its own
      // before the hub's PORT_UNAVAILABLE): they go to the hub's log instead, in its format.
      setLogger({
        error: (...args: unknown[]) => logger.warn({ source: 'grpc-js' }, args.map(String).join(' ')),
        info: (...args: unknown[]) => logger.info({ source: 'grpc-js' }, args.map(String).join(' ')),
        debug: (...args: unknown[]) => logger.debug({ source: 'grpc-js' }, args.map(String).join(' ')),
      });
      const hub = await startHub(config, logger);
      await untilSignal();
      await hub.close();
    });
}
