import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Errors, ScaleAgentError, errorMessage } from '../../common/errors.ts';
import { HTTP_OK } from '../../common/http-status.ts';
import { SERVICE_ACCOUNT_DIR } from '../../kube/in-cluster.ts';
import { vaultErrors, vaultRequest, vaultUnavailable, type VaultAnswer, type VaultHttpOptions } from './vault-http.ts';
import type { VaultConfig } from '../secrets-config.ts';

/** A Vault token and what Vault said of its lease. */
export interface VaultLease {
  token: string;
  /** Seconds the token lives from when it was granted; 0 = it does not expire (a root token). */
  ttlSeconds: number;
  renewable: boolean;
}

/** How the agent comes by a Vault token (secrets.vault.authMethod). */
export interface VaultLogin {
  readonly description: string;
  /** Whether logging in again yields a new token (not so for a given token). */
  readonly canLogInAgain: boolean;
  login(): Promise<VaultLease>;
}

/** The token of a login answer (`auth`), or of a renewal. */
export function leaseFromAuth(answer: VaultAnswer, what: string): VaultLease {
  const auth = (answer.body as { auth?: { client_token?: unknown; lease_duration?: unknown; renewable?: unknown } } | undefined)?.auth;
  if (typeof auth?.client_token !== 'string' || auth.client_token === '') throw vaultUnavailable(`${what}: Vault's answer has no auth.client_token`);
  return {
    token: auth.client_token,
    ttlSeconds: typeof auth.lease_duration === 'number' && auth.lease_duration > 0 ? auth.lease_duration : 0,
    renewable: auth.renewable === true,
  };
}

function configInvalid(message: string): ScaleAgentError {
  return new ScaleAgentError(Errors.CONFIG_INVALID, message, {});
}

/** A path segment of an auth mount: slashes inside it are the mount's own. */
function mountPath(path: string): string {
  return path
    .split('/')
    .filter((s) => s !== '')
    .map(encodeURIComponent)
    .join('/');
}

/** TOKEN: the configured token (or VAULT_TOKEN); its lease is looked up so that a renewable one is kept alive. */
class GivenToken implements VaultLogin {
  readonly canLogInAgain = false;
  readonly description = 'TOKEN';

  constructor(
    private readonly http: VaultHttpOptions,
    private readonly token: string,
  ) {}

  async login(): Promise<VaultLease> {
    const answer = await vaultRequest(this.http, { method: 'GET', path: 'auth/token/lookup-self', token: this.token });
    if (answer.status !== HTTP_OK)
      throw vaultUnavailable(`Vault refused the configured token (token lookup-self): ${vaultErrors(answer)}`, { status: answer.status });
    const data = (answer.body as { data?: { ttl?: unknown; renewable?: unknown } } | undefined)?.data;
    return { token: this.token, ttlSeconds: typeof data?.ttl === 'number' && data.ttl > 0 ? data.ttl : 0, renewable: data?.renewable === true };
  }
}

/** KUBERNETES: the pod's ServiceAccount token, read anew at every login (projected tokens rotate), for a role. */
class KubernetesLogin implements VaultLogin {
  readonly canLogInAgain = true;
  readonly description: string;

  constructor(
    private readonly http: VaultHttpOptions,
    private readonly role: string,
    private readonly mount: string,
    private readonly jwtPath: string,
  ) {
    this.description = `KUBERNETES (role ${role} at auth/${mount})`;
  }

  async login(): Promise<VaultLease> {
    let jwt: string;
    try {
      jwt = (await readFile(this.jwtPath, 'utf8')).trim();
    } catch (err) {
      throw vaultUnavailable(`Vault login ${this.description}: cannot read the ServiceAccount token ${this.jwtPath}: ${errorMessage(err)}`, {
        path: this.jwtPath,
      });
    }
    const answer = await vaultRequest(this.http, { method: 'POST', path: `auth/${mountPath(this.mount)}/login`, body: { role: this.role, jwt } });
    if (answer.status !== HTTP_OK) throw vaultUnavailable(`Vault login ${this.description} refused: ${vaultErrors(answer)}`, { status: answer.status });
    return leaseFromAuth(answer, `Vault login ${this.description}`);
  }
}

/** USERPASS: a user name and password at the userpass mount. */
class UserPassLogin implements VaultLogin {
  readonly canLogInAgain = true;
  readonly description: string;

  constructor(
    private readonly http: VaultHttpOptions,
    private readonly username: string,
    private readonly password: string,
    private readonly mount: string,
  ) {
    this.description = `USERPASS (user ${username} at auth/${mount})`;
  }

  async login(): Promise<VaultLease> {
    const path = `auth/${mountPath(this.mount)}/login/${encodeURIComponent(this.username)}`;
    const answer = await vaultRequest(this.http, { method: 'POST', path, body: { password: this.password } });
    if (answer.status !== HTTP_OK) throw vaultUnavailable(`Vault login ${this.description} refused: ${vaultErrors(answer)}`, { status: answer.status });
    return leaseFromAuth(answer, `Vault login ${this.description}`);
  }
}

export interface VaultLoginEnvironment {
  /** VAULT_TOKEN is read from here (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The ServiceAccount token the KUBERNETES method presents (default: the pod's). */
  serviceAccountTokenPath?: string;
}

/** The login secrets.vault.authMethod names, with what it needs checked (CONFIG_INVALID naming the key). */
export function createVaultLogin(options: VaultConfig, http: VaultHttpOptions, environment: VaultLoginEnvironment = {}): VaultLogin {
  switch (options.authMethod) {
    case 'TOKEN': {
      const token = options.token ?? (environment.env ?? process.env).VAULT_TOKEN;
      if (token === undefined || token === '')
        throw configInvalid('secrets.vault.authMethod TOKEN needs secrets.vault.token or the VAULT_TOKEN environment variable');
      return new GivenToken(http, token);
    }
    case 'KUBERNETES':
      if (options.role === undefined) throw configInvalid('secrets.vault.authMethod KUBERNETES needs secrets.vault.role');
      return new KubernetesLogin(http, options.role, options.path, environment.serviceAccountTokenPath ?? join(SERVICE_ACCOUNT_DIR, 'token'));
    case 'USERPASS':
      if (options.username === undefined || options.password === undefined)
        throw configInvalid('secrets.vault.authMethod USERPASS needs secrets.vault.username and secrets.vault.password');
      return new UserPassLogin(http, options.username, options.password, options.userAuthPath);
  }
}
