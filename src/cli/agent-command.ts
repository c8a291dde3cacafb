import type { Command } from 'commander';
import { loadConfigFile } from '../common/config.ts';
import { createLogger } from '../common/logger.ts';
import { agentConfigSchema, DEFAULT_ADMIN_PORT, DEFAULT_HUB_ADDRESS } from '../agent/config.ts';
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
    .option('-c, --config <file>', 'YAML configuration file with kubernetes.accounts[] (see docs/configuration.md)')
    .option('--hub <host:port>', `hub gRPC address (clouddriver.grpc), default ${DEFAULT_HUB_ADDRESS}`)
    .option('--port <port>', `admin/health port (server.port), default ${DEFAULT_ADMIN_PORT}`)
    .option('--id <id>', 'agent id (agent.id), default the host name')
    .option('--log-format <format>', 'json or text (logging.format), default json')
    .action(async (flags: AgentFlags) => {
      const config = loadConfigFile(agentConfigSchema, flags.config, {
        agent: { id: flags.id },
        clouddriver: { grpc: flags.hub },
        server: { port: flags.port === undefined ? undefined : Number.parseInt(flags.port, 10) },
        logging: { format: flags.logFormat },
      });
      const logger = createLogger({ level: config.logging.level, format: config.logging.format, base: { part: 'agent' } });
      logFatalErrorsWith(logger);
      const agent = await startAgent(config, logger);
      await untilSignal();
      await agent.close();
    });
}
