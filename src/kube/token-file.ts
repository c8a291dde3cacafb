import { readFile } from 'node:fs/promises';
import { Errors, ScaleAgentError } from '../common/errors.ts';

/**
 * How long a token read from a file is trusted before reading it again. client-go's cached file token
 * source uses one minute; projected ServiceAccount tokens are refreshed by the kubelet well before expiry.
 */
export const TOKEN_FILE_REREAD_MS = 60_000;

/** A bearer token kept in a file that something else rotates (ServiceAccount projection, a sidecar). */
export class TokenFileSource {
  private token: string | undefined;
  private readAt = 0;
  private reading: Promise<string> | undefined;

  constructor(
    readonly path: string,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<string> {
    if (this.token !== undefined && this.now() - this.readAt < TOKEN_FILE_REREAD_MS) return this.token;
    this.reading ??= this.read().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  /** The server rejected the token: read the file again on next use. */
  invalidate(): void {
    this.readAt = 0;
  }

  private async read(): Promise<string> {
    try {
      const token = (await readFile(this.path, 'utf8')).trim();
      this.token = token;
      this.readAt = this.now();
      return token;
    } catch (err) {
      // A rotating writer may briefly remove the file; keep the last good token rather than failing requests.
      if (this.token !== undefined) return this.token;
      throw new ScaleAgentError(Errors.KUBECONFIG_INVALID, `cannot read token file ${this.path}: ${(err as Error).message}`, { path: this.path });
    }
  }
}
