import type { Command } from 'commander';
import { isScaleAgentError } from '../common/errors.ts';
import { installFatalErrorHandlers } from './fatal-errors.ts';

/**
 * Parses argv and runs the chosen subcommand. A start-up failure (bad configuration, port in use)
 * prints one clear line with its code and exits 1 instead of a stack trace; an error nobody handles
 * later ends the process with a fatal line and FATAL_EXIT_CODE (fatal-errors.ts).
 */
export async function runCommand(program: Command, argv: string[]): Promise<void> {
  installFatalErrorHandlers();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (isScaleAgentError(err)) {
      process.stderr.write(`scale-agent: ${err.code}: ${err.message}\n`);
    } else {
      process.stderr.write(`scale-agent: ${(err as Error).stack ?? String(err)}\n`);
    }
    process.exit(1);
  }
}

/** Resolves when the process is asked to stop (SIGINT/SIGTERM), for long-running subcommands. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals) => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}
