import { Errors, errorMessage, isScaleAgentError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';

/**
 * Exit status of a process ended by an error nobody handled: EX_SOFTWARE (sysexits.h), an internal
 * error, so that an operator or a supervisor tells a bug from a refused start (1, run-command.ts).
 */
export const FATAL_EXIT_CODE = 70;

export type FatalErrorKind = 'unhandled promise rejection' | 'uncaught exception';

export interface FatalErrorOutput {
  /** The running part's logger, once it has one: the fatal line then comes in the part's log format. */
  logger?: Logger;
  stderr: (text: string) => void;
  exit: (code: number) => void;
}

/**
 * Reports an error nobody handled and ends the process. It does not carry on: whatever the error
 * interrupted (a handover, a bookkeeping write) left the process's state unknown, and a restart (by
 * Kubernetes, systemd) starts from a known one. One line says what happened — at level fatal in the
 * part's log, or on stderr before there is one — instead of Node's bare stack dump, and the exit status
 * says it was a bug.
 */
export function exitOnFatalError(kind: FatalErrorKind, err: unknown, out: FatalErrorOutput): void {
  const code = isScaleAgentError(err) ? err.code : Errors.INTERNAL_ERROR.code;
  const stack = err instanceof Error ? err.stack : undefined;
  let logged = false;
  if (out.logger) {
    try {
      out.logger.fatal({ code, err: errorMessage(err), stack, exitCode: FATAL_EXIT_CODE }, `${kind}; exiting`);
      logged = true;
    } catch {
      // A logger that fails now must not hide the error: stderr below.
    }
  }
  if (!logged) out.stderr(`scale-agent: fatal: ${code}: ${kind}; exiting: ${errorMessage(err)}\n${stack === undefined ? '' : `${stack}\n`}`);
  out.exit(FATAL_EXIT_CODE);
}

let partLogger: Logger | undefined;
let installed = false;

/** The running part (hub, agent, sim) hands over its logger, so that a fatal error is logged like the rest of what it logs. */
export function logFatalErrorsWith(logger: Logger): void {
  partLogger = logger;
}

/**
 * Ends the process on an unhandled promise rejection or an uncaught exception, through
 * exitOnFatalError. Installed once, by the CLI, before any subcommand runs.
 */
export function installFatalErrorHandlers(): void {
  if (installed) return;
  installed = true;
  const output = (): FatalErrorOutput => ({
    ...(partLogger === undefined ? {} : { logger: partLogger }),
    stderr: (text) => process.stderr.write(text),
    exit: (code) => process.exit(code),
  });
  process.on('unhandledRejection', (reason) => exitOnFatalError('unhandled promise rejection', reason, output()));
  process.on('uncaughtException', (err) => exitOnFatalError('uncaught exception', err, output()));
}
