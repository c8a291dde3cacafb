import { Command } from 'commander';
import { registerSimCommand } from './sim-command.ts';
import { registerHubCommand } from './hub-command.ts';
import { registerAgentCommand } from './agent-command.ts';
import { registerDemoCommand } from './demo-command.ts';
import { registerAccountsCommand } from './accounts-command.ts';
import { runCommand } from './run-command.ts';

const program = new Command('scale-agent')
  .description('Stream Kubernetes state to a Clouddriver-compatible hub for Spinnaker, and run operations back through the agent.')
  .showHelpAfterError();

registerSimCommand(program);
registerHubCommand(program);
registerAgentCommand(program);
registerDemoCommand(program);
registerAccountsCommand(program);

await runCommand(program, process.argv);
