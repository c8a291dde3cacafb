import { execFile } from 'node:child_process';
import { Errors, ScaleAgentError, errorMessage, isScaleAgentError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { HubAuthConfig } from '../config.ts';
import { resolveReference, type SecretResolver } from '../secrets/secret-resolver.ts';
import { isSecretReference, parseSecretReference, type SecretReference } from '../secrets/secret-reference.ts';

/** A token command that has not answered by then is hung. */
export const TOKEN_COMMAND_TIMEOUT_MS = 30_000;
/** Output above this is not a token. */
const TOKEN_COMMAND_MAX_OUTPUT_BYTES = 64 * 1024;
const MS_PER_SECOND = 1000;
const TOKEN_KEY = 'clouddriver.auth.token';

/** Where the bearer token for the hub comes from: a fixed value or a command run now and then. */
export interface TokenSource {
  /** The token for a new connection (runs the command when due). */
  get(): Promise<string>;
  /** The latest token, for calls on an established connection (sync streams). */
  current(): string | undefined;
  close(): void;
}

/**
 * The token source `clouddriver.auth` configures. A token that is a secret reference (`encrypted:…`) is
 * read through `secrets` (a malformed reference fails here, at start).
 */
export function createTokenSource(auth: HubAuthConfig, logger: Logger, secrets?: SecretResolver): TokenSource | undefined {
  if (auth.token !== undefined && isSecretReference(auth.token)) {
    const reference = parseSecretReference(auth.token, TOKEN_KEY);
    if (secrets === undefined) {
      throw new ScaleAgentError(
        Errors.SECRET_REFERENCE_INVALID,
        `${TOKEN_KEY}: ${reference.text}: secret references are not available here (no secret resolver)`,
        {
          reference: reference.text,
        },
      );
    }
    return new SecretTokenSource(reference, secrets, logger);
  }
  if (auth.token !== undefined) return staticToken(checkToken(auth.token, TOKEN_KEY));
  if (auth.tokenCommand !== undefined) return new CommandTokenSource(auth.tokenCommand, logger);
  return undefined;
}

function staticToken(token: string): TokenSource {
  return { get: async () => token, current: () => token, close: () => undefined };
}

/**
 * A token kept in a secret store. Each new connection asks the resolver, which reads the store again
 * after a configuration reload (invalidate()); a failed read keeps the previous token (logged), and
 * with none at all the connection attempt fails and is retried on the reconnect backoff.
 */
export class SecretTokenSource implements TokenSource {
  private token: string | undefined;

  constructor(
    private readonly reference: SecretReference,
    private readonly secrets: SecretResolver,
    private readonly logger: Logger,
  ) {}

  async get(): Promise<string> {
    try {
      this.token = checkToken(await resolveReference(this.reference, TOKEN_KEY, this.secrets), `${TOKEN_KEY} (${this.reference.text})`);
      return this.token;
    } catch (err) {
      this.logger.error(
        { reference: this.reference.text, code: isScaleAgentError(err) ? err.code : undefined, err: errorMessage(err), keptPrevious: this.token !== undefined },
        'cannot read the token for the hub from its secret',
      );
      if (this.token === undefined) throw err;
      return this.token;
    }
  }

  current(): string | undefined {
    return this.token;
  }

  close(): void {}
}

/** A token travels in an HTTP/2 header: no line breaks, no control characters. */
function checkToken(token: string, what: string): string {
  if (token === '' || /[\x00-\x1f\x7f]/.test(token)) {
    throw new ScaleAgentError(
      Errors.AUTH_TOKEN_UNAVAILABLE,
      `${what}: the token is empty or contains control characters (line breaks) that cannot travel in a header`,
    );
  }
  return token;
}

export type TokenCommandConfig = NonNullable<HubAuthConfig['tokenCommand']>;

/** Runs the token command once: its trimmed output (raw) or the output's `token` field (json). */
export function runTokenCommand(config: TokenCommandConfig): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      config.command,
      config.args,
      { timeout: TOKEN_COMMAND_TIMEOUT_MS, maxBuffer: TOKEN_COMMAND_MAX_OUTPUT_BYTES, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) {
          const detail = stderr.trim().slice(0, 300);
          reject(
            new ScaleAgentError(
              Errors.AUTH_TOKEN_UNAVAILABLE,
              `token command ${config.command} failed: ${err.message.split('\n')[0]}${detail ? `: ${detail}` : ''}`,
              { command: config.command },
            ),
          );
          return;
        }
        try {
          let token = stdout.trim();
          if (config.format === 'json') {
            const doc = JSON.parse(stdout) as { token?: unknown };
            if (typeof doc !== 'object' || doc === null || typeof doc.token !== 'string') throw new Error('the output has no string field "token"');
            token = doc.token.trim();
          }
          resolve(checkToken(token, `token command ${config.command}`));
        } catch (parseErr) {
          reject(new ScaleAgentError(Errors.AUTH_TOKEN_UNAVAILABLE, `token command ${config.command}: ${errorMessage(parseErr)}`, { command: config.command }));
        }
      },
    );
  });
}

/**
 * A token from a command. With `refreshIntervalSeconds` > 0 the command runs again in the background at
 * that interval, and each new call (a connection, a sync stream) takes the latest token; with 0 it runs
 * for every new connection. A failed run keeps the previous token (logged); with none at all the
 * connection attempt fails and is retried on the reconnect backoff.
 */
export class CommandTokenSource implements TokenSource {
  private token: string | undefined;
  private fetchedAt = 0;
  private running: Promise<string> | undefined;
  private timer: NodeJS.Timeout | undefined;
  runs = 0;

  constructor(
    private readonly config: TokenCommandConfig,
    private readonly logger: Logger,
    private readonly run: (config: TokenCommandConfig) => Promise<string> = runTokenCommand,
  ) {
    const intervalMs = config.refreshIntervalSeconds * MS_PER_SECOND;
    if (intervalMs > 0) {
      this.timer = setInterval(() => void this.refresh().catch(() => undefined), intervalMs);
      this.timer.unref();
    }
  }

  async get(): Promise<string> {
    const intervalMs = this.config.refreshIntervalSeconds * MS_PER_SECOND;
    if (this.token !== undefined && intervalMs > 0 && Date.now() - this.fetchedAt < intervalMs) return this.token;
    try {
      return await this.refresh();
    } catch (err) {
      if (this.token === undefined) throw err;
      return this.token;
    }
  }

  current(): string | undefined {
    return this.token;
  }

  private refresh(): Promise<string> {
    this.running ??= this.run(this.config)
      .then(
        (token) => {
          this.runs++;
          const changed = token !== this.token;
          this.token = token;
          this.fetchedAt = Date.now();
          this.logger.debug({ command: this.config.command, changed }, 'token command ran');
          return token;
        },
        (err: unknown) => {
          this.runs++;
          this.logger.error(
            { command: this.config.command, code: Errors.AUTH_TOKEN_UNAVAILABLE.code, err: errorMessage(err), keptPrevious: this.token !== undefined },
            'the token command failed',
          );
          throw err;
        },
      )
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
