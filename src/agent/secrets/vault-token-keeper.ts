import { errorMessage, isScaleAgentError } from '../../common/errors.ts';
import { HTTP_INTERNAL_ERROR, HTTP_OK } from '../../common/http-status.ts';
import type { Logger } from '../../common/logger.ts';
import { leaseFromAuth, type VaultLease, type VaultLogin } from './vault-login.ts';
import { vaultErrors, vaultRequest, vaultUnavailable, type VaultHttpOptions } from './vault-http.ts';

/**
 * A token is renewed when this fraction of its lease has passed, as Vault Agent's lifetime watcher does
 * (about two thirds): early enough that a slow or failed renewal still leaves time to log in again.
 */
export const RENEW_AT_FRACTION = 2 / 3;
/** Floor of the wait before a renewal, so that a token with a very short lease cannot make a busy loop. */
export const MIN_RENEW_DELAY_MS = 200;
/** A renewal or login that failed for a reason that may pass (Vault unreachable, 5xx) is tried again after this long. */
export const RENEW_RETRY_MS = 5_000;
const MS_PER_SECOND = 1000;

interface HeldLease extends VaultLease {
  grantedAt: number;
  /**
   * Vault granted less than before: the token has reached its max TTL and cannot be kept alive by
   * renewals any more, so the next refresh logs in again (when the method can).
   */
  capped: boolean;
}

export interface VaultTokenKeeperOptions {
  renewAtFraction?: number;
  now?: () => number;
}

/**
 * Holds the agent's Vault token: logs in on first use, renews a renewable token before its lease ends
 * (`auth/token/renew-self` at RENEW_AT_FRACTION of the lease), and logs in again when the token cannot
 * be renewed (refused, not renewable, or capped at its max TTL) or a call with it is refused. The token
 * is never logged.
 */
export class VaultTokenKeeper {
  private lease: HeldLease | undefined;
  private loggingIn: Promise<HeldLease> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly renewAtFraction: number;
  private readonly now: () => number;

  constructor(
    private readonly login: VaultLogin,
    private readonly http: VaultHttpOptions,
    private readonly logger: Logger,
    options: VaultTokenKeeperOptions = {},
  ) {
    this.renewAtFraction = options.renewAtFraction ?? RENEW_AT_FRACTION;
    this.now = options.now ?? Date.now;
  }

  /** A token that was valid when last heard of; logs in when there is none or it has expired. */
  async token(): Promise<string> {
    const lease = this.lease;
    if (lease !== undefined && !this.expired(lease)) return lease.token;
    return (await this.logIn()).token;
  }

  /**
   * A call made with `token` was refused (403). Returns whether a new token may help: then the token is
   * dropped (if still current) and the next token() logs in again.
   */
  refused(token: string): boolean {
    if (!this.login.canLogInAgain) return false;
    if (this.lease?.token === token) {
      this.lease = undefined;
      this.clearTimer();
    }
    return true;
  }

  close(): void {
    this.closed = true;
    this.clearTimer();
  }

  private expired(lease: HeldLease): boolean {
    return lease.ttlSeconds > 0 && this.now() >= lease.grantedAt + lease.ttlSeconds * MS_PER_SECOND;
  }

  private logIn(): Promise<HeldLease> {
    this.loggingIn ??= this.login
      .login()
      .then((granted) => {
        const lease = { ...granted, grantedAt: this.now(), capped: false };
        this.lease = lease;
        this.logger.info({ method: this.login.description, ttlSeconds: lease.ttlSeconds, renewable: lease.renewable }, 'logged in to Vault');
        this.schedule(lease);
        return lease;
      })
      .finally(() => {
        this.loggingIn = undefined;
      });
    return this.loggingIn;
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(lease: HeldLease): void {
    this.clearTimer();
    if (this.closed || lease.ttlSeconds === 0) return;
    if (!lease.renewable && !this.login.canLogInAgain) return;
    this.after(Math.max(MIN_RENEW_DELAY_MS, lease.ttlSeconds * MS_PER_SECOND * this.renewAtFraction), lease);
  }

  private after(delayMs: number, lease: HeldLease): void {
    this.clearTimer();
    if (this.closed) return;
    this.timer = setTimeout(() => void this.refresh(lease), delayMs);
    this.timer.unref();
  }

  /** Keeps `lease` alive: renews it, or logs in again. Failures are logged and, while they may pass, retried. */
  private async refresh(lease: HeldLease): Promise<void> {
    if (this.closed || this.lease !== lease) return;
    const logInInstead = this.login.canLogInAgain && (!lease.renewable || lease.capped);
    if (!logInInstead) {
      try {
        const renewed = await this.renew(lease.token);
        if (this.closed || this.lease !== lease) return;
        const next = { ...renewed, grantedAt: this.now(), capped: renewed.ttlSeconds < lease.ttlSeconds };
        this.lease = next;
        this.logger.debug({ method: this.login.description, ttlSeconds: next.ttlSeconds, capped: next.capped }, 'renewed the Vault token');
        this.schedule(next);
        return;
      } catch (err) {
        this.logger.warn({ method: this.login.description, err: errorMessage(err), logInAgain: this.login.canLogInAgain }, 'cannot renew the Vault token');
        if (!this.login.canLogInAgain) {
          if (mayPass(err) && !this.expired(lease)) this.after(RENEW_RETRY_MS, lease);
          return;
        }
      }
    }
    try {
      if (this.lease === lease) this.lease = undefined;
      await this.logIn();
    } catch (err) {
      this.logger.error({ method: this.login.description, err: errorMessage(err) }, 'cannot log in to Vault again; the next secret read tries again');
      // The old token may still be good for a while: keep it for reads until it expires.
      if (!this.expired(lease) && this.lease === undefined) {
        const retry = { ...lease, capped: true };
        this.lease = retry;
        this.after(RENEW_RETRY_MS, retry);
      }
    }
  }

  private async renew(token: string): Promise<VaultLease> {
    const answer = await vaultRequest(this.http, { method: 'POST', path: 'auth/token/renew-self', token, body: {} });
    if (answer.status !== HTTP_OK) throw vaultUnavailable(`Vault token renewal refused: ${vaultErrors(answer)}`, { status: answer.status });
    return leaseFromAuth(answer, 'Vault token renewal');
  }
}

/** Whether a failure may pass by itself: Vault unreachable or failing (5xx), not a refusal (4xx). */
function mayPass(err: unknown): boolean {
  if (!isScaleAgentError(err)) return true;
  const status = err.details.status;
  return typeof status !== 'number' || status >= HTTP_INTERNAL_ERROR;
}
