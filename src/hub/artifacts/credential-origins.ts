import { Errors, ScaleAgentError } from '../../common/errors.ts';
import { requestInvalid } from './artifact.ts';
import { shownUrl } from './bounded-http.ts';

/**
 * The origins (scheme, host, port) an artifact account may send its credentials to. For github, gitlab,
 * bitbucket and http artifacts the reference is a URL chosen by whoever calls PUT /artifacts/fetch/, so
 * without this bound any authenticated caller could name their own server and receive the account's
 * token. Clouddriver has no such bound; here every account with credentials has one: its `origins`, or
 * its provider's public service (docs/configuration.md, "Artifacts").
 */
export class CredentialOrigins {
  private constructor(
    private readonly account: string,
    /** Undefined: anywhere (an account without credentials and without `origins`). */
    private readonly origins: readonly string[] | undefined,
    /** Where the origins come from, for the refusal: the key, and whether it is the provider's default. */
    private readonly source: string,
  ) {}

  /**
   * The bound of one account: `configured` when set; otherwise, with credentials, the provider's
   * default (undefined for http accounts, whose schema requires `origins` with credentials); without
   * credentials, none.
   */
  static of(account: string, key: string, configured: readonly string[] | undefined, credentials: boolean, fallback?: string): CredentialOrigins {
    if (configured !== undefined) return new CredentialOrigins(account, configured, key);
    if (credentials && fallback !== undefined) return new CredentialOrigins(account, [fallback], `${key} unset: the default for accounts with credentials`);
    return new CredentialOrigins(account, undefined, key);
  }

  /** Refuses (ARTIFACT_ORIGIN_REFUSED) a reference outside the account's origins, before anything is sent. */
  check(reference: string): void {
    if (this.origins === undefined) return;
    let url: URL;
    try {
      url = new URL(reference);
    } catch {
      throw requestInvalid('reference', 'is not a URL');
    }
    if (this.origins.includes(url.origin)) return;
    throw new ScaleAgentError(
      Errors.ARTIFACT_ORIGIN_REFUSED,
      `artifact account '${this.account}' sends its credentials only to ${this.origins.join(', ')} (${this.source}); ` +
        `refused to fetch ${shownUrl(url)}, whose origin is ${url.origin}`,
      { account: this.account, origin: url.origin, origins: [...this.origins] },
    );
  }
}
