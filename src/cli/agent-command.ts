import type { Command } from 'commander';
import { createLoggerFromConfig } from '../common/logger.ts';
import { formatWarning } from '../agent/armory-compat.ts';
import { DEFAULT_ADMIN_PORT, DEFAULT_HUB_ADDRESS } from '../agent/config.ts';
import { agentConfigSources, loadAgentConfig } from '../agent/config-loader.ts';
import { startAgent } from '../agent/agent.ts';
import { logFatalErrorsWith } from './fatal-errors.ts';
import { untilSignal } from './run-command.ts';

interface AgentFlags {
  config?: string;
  hub?: string;
  port?: string;
  id?: string;
  logFormat?: 'json' | 'text';
}

export function registerAgentCommand(program: Command): void {
  program
    .command('agent')
    .description('Run an agent: list and watch the configured clusters, stream changes to the hub, run its operations.')
    .option(
      '-c, --config <file>',
      'YAML configuration file with kubernetes.accounts[] (see docs/configuration.md); default /opt/armory/config/armory-agent.yaml when present; reloaded when it changes or on SIGHUP',
    )
    .option('--hub <host:port>', `hub gRPC address (clouddriver.grpc), default ${DEFAULT_HUB_ADDRESS}`)
    .option('--port <port>', `admin/health port (server.port), default ${DEFAULT_ADMIN_PORT}`)
    .option('--id <id>', 'agent id (agent.id), default the host name')
    .option('--log-format <format>', 'json or text (logging.format), default json')
    .action(async (flags: AgentFlags) => {
      const overrides = {
        agent: { id: flags.id },
        clouddriver: { grpc: flags.hub },
        server: { port: flags.port === undefined ? undefined : Number.parseInt(flags.port, 10) },
        logging: { format: flags.logFormat },
      };
      // Without --config, Armory's locations (/opt/armory/config/armory-agent.yaml and its -local override).
      const sources = () => agentConfigSources(flags.config === undefined ? {} : { explicit: flags.config });
      const { config, warnings } = loadAgentConfig(sources().read, overrides);
      const logger = createLoggerFromConfig(config.logging, { part: 'agent' });
      logFatalErrorsWith(logger);
      for (const warning of warnings) logger.warn({ keys: warning.keys }, `configuration: ${formatWarning(warning)}`);
      const agent = await startAgent(config, logger, {
        // The files as found at start, and any that appear later where the agent looks (the local override).
        reload: { paths: sources().watch, load: () => loadAgentConfig(sources().read, overrides).config },
      });
      await untilSignal();
      await agent.close();
    });
}
