import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { Errors, ScaleAgentError, errorMessage } from '../../common/errors.ts';
import { MIN_TOKEN_LENGTH, type AuthConfig, type TrustedGateConfig } from './auth-config.ts';
import { normalizeRoleList, problemText } from './roles.ts';
import { SourceMatcher } from './sources.ts';

/** Who is calling, and with which roles (normalised). */
export interface Principal {
  user: string;
  roles: ReadonlySet<string>;
  /** Holds one of auth.adminRoles: may call /admin/* and /metrics. */
  admin: boolean;
  /**
   * How the caller authenticated. `service`: Spinnaker's own service calls without a user
   * (auth.trustedGate.serviceCalls: read), which READ every account and WRITE none, whatever the roles.
   */
  via: 'token' | 'gate' | 'service';
}

/**
 * The user Spinnaker's service calls without a user are known as (logs, refusals, the status page).
 * It is not looked up in auth.users: such calls hold no roles, so no configuration can make them admin
 * or let them write.
 */
export const SERVICE_CALLS_USER = 'spinnaker-services';

/** Methods a service call without a user may use: reads only (every Gate poll and Fiat load is a GET). */
const SERVICE_CALL_METHODS = new Set(['GET', 'HEAD']);

/** The principal of a service call without a user; see SERVICE_CALLS_USER. */
export function servicePrincipal(): Principal {
  return { user: SERVICE_CALLS_USER, roles: new Set(), admin: false, via: 'service' };
}

export type AuthOutcome =
  | { ok: true; principal: Principal }
  | { ok: false; code: typeof Errors.AUTHENTICATION_REQUIRED.code | typeof Errors.AUTHENTICATION_FAILED.code; message: string };

interface TokenEntry {
  user: string;
  roles: string[];
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function configError(path: string, message: string): ScaleAgentError {
  return new ScaleAgentError(Errors.CONFIG_INVALID, `invalid configuration: ${path}: ${message}`, { key: path });
}

/**
 * Reads a secret from the inline value, a file or an environment variable, at start; errors name the
 * key (`keys` are the field names under `path`: token/tokenFile/tokenEnv, or value/file/env).
 */
function readSecret(
  source: { value?: string; file?: string; env?: string },
  path: string,
  env: NodeJS.ProcessEnv,
  keys = { file: 'file', env: 'env' },
): string {
  if (source.value !== undefined) return source.value.trim();
  if (source.file !== undefined) {
    try {
      return readFileSync(source.file, 'utf8').trim();
    } catch (err) {
      throw configError(`${path}.${keys.file}`, `cannot read ${source.file}: ${errorMessage(err)}`);
    }
  }
  const name = source.env!;
  const value = env[name];
  if (value === undefined || value.trim() === '') throw configError(`${path}.${keys.env}`, `environment variable ${name} is not set or empty`);
  return value.trim();
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * Authenticates REST requests: `Authorization: Bearer <token>` against auth.tokens, or the user header
 * (X-SPINNAKER-USER) when the connection comes from a trusted Gate address (and carries the shared
 * secret, if one is configured). The two are never mixed: a request with an Authorization header is
 * judged by its token alone. With auth.trustedGate.serviceCalls: read, a GET from a trusted Gate address
 * (with the secret, if configured) that has neither is Spinnaker's own service reading (servicePrincipal).
 */
export class Authenticator {
  private readonly tokens = new Map<string, TokenEntry>();
  private readonly users = new Map<string, string[]>();
  private readonly adminRoles: ReadonlySet<string>;
  private readonly gate:
    | {
        header: string;
        headerName: string;
        rolesHeader?: string;
        rolesHeaderName?: string;
        sources: SourceMatcher;
        sourcesText: string;
        secret?: { header: string; headerName: string; digest: Buffer };
        serviceCalls: TrustedGateConfig['serviceCalls'];
      }
    | undefined;

  constructor(config: AuthConfig, env: NodeJS.ProcessEnv = process.env) {
    this.adminRoles = new Set(config.adminRoles);
    for (const user of config.users) this.users.set(user.name.toLowerCase(), user.roles);
    const seen = new Map<string, number>();
    config.tokens.forEach((entry, i) => {
      const path = `auth.tokens[${i}]`;
      const token = readSecret({ value: entry.token, file: entry.tokenFile, env: entry.tokenEnv }, path, env, { file: 'tokenFile', env: 'tokenEnv' });
      const key = entry.token !== undefined ? 'token' : entry.tokenFile !== undefined ? 'tokenFile' : 'tokenEnv';
      if (token.length < MIN_TOKEN_LENGTH) throw configError(`${path}.${key}`, `a token must be at least ${MIN_TOKEN_LENGTH} characters`);
      const hash = digest(token).toString('hex');
      const first = seen.get(hash);
      if (first !== undefined) throw configError(`${path}.${key}`, `the same token as auth.tokens[${first}]`);
      seen.set(hash, i);
      this.tokens.set(hash, { user: entry.user, roles: entry.roles });
    });
    const gate = config.trustedGate;
    if (gate) {
      this.gate = {
        header: gate.header.toLowerCase(),
        headerName: gate.header,
        rolesHeader: gate.rolesHeader?.toLowerCase(),
        rolesHeaderName: gate.rolesHeader,
        sources: new SourceMatcher(gate.sources),
        sourcesText: gate.sources.join(', '),
        secret: gate.sharedSecret
          ? {
              header: gate.sharedSecret.header.toLowerCase(),
              headerName: gate.sharedSecret.header,
              digest: digest(readSecret(gate.sharedSecret, 'auth.trustedGate.sharedSecret', env)),
            }
          : undefined,
        serviceCalls: gate.serviceCalls,
      };
    }
  }

  private principal(user: string, roles: Iterable<string>, via: Principal['via']): Principal {
    const all = new Set(roles);
    for (const role of this.users.get(user.toLowerCase()) ?? []) all.add(role);
    return { user, roles: all, admin: [...all].some((r) => this.adminRoles.has(r)), via };
  }

  /**
   * `method` is the request's HTTP method: only a GET or HEAD can be a service call without a user
   * (unknown: never).
   */
  authenticate(headers: IncomingHttpHeaders, remoteAddress: string | undefined, method?: string): AuthOutcome {
    const authorization = single(headers.authorization);
    if (authorization !== undefined) return this.byToken(authorization);
    if (this.gate && headers[this.gate.header] !== undefined) return this.byGate(headers, remoteAddress);
    if (this.gate?.serviceCalls === 'read' && this.gate.sources.matches(remoteAddress)) return this.asService(headers, method);
    return this.required();
  }

  private required(why?: string): AuthOutcome {
    const ways = [
      this.tokens.size > 0 ? 'Authorization: Bearer <token>' : undefined,
      this.gate ? `${this.gate.headerName} from a trusted Gate` : undefined,
    ].filter((w) => w !== undefined);
    return {
      ok: false,
      code: Errors.AUTHENTICATION_REQUIRED.code,
      message: `authentication required: send ${ways.join(' or ')}${why === undefined ? '' : ` (${why})`}`,
    };
  }

  /**
   * A request from a trusted Gate source without a user, while auth.trustedGate.serviceCalls is `read`:
   * Spinnaker's own services reading. Anything but a read stays unauthenticated, and the shared secret,
   * when configured, is required as it is next to a user.
   */
  private asService(headers: IncomingHttpHeaders, method: string | undefined): AuthOutcome {
    const gate = this.gate!;
    if (method === undefined || !SERVICE_CALL_METHODS.has(method.toUpperCase())) {
      return this.required(
        `without ${gate.headerName}, a call from the trusted Gate may only read (auth.trustedGate.serviceCalls: read allows GET); ${method ?? 'this request'} needs a user`,
      );
    }
    if (gate.secret) {
      const presented = single(headers[gate.secret.header]);
      if (presented === undefined) {
        return this.required(
          `a call from the trusted Gate without ${gate.headerName} needs the shared secret in ${gate.secret.headerName} (auth.trustedGate.sharedSecret)`,
        );
      }
      if (!timingSafeEqual(digest(presented.trim()), gate.secret.digest)) {
        return {
          ok: false,
          code: Errors.AUTHENTICATION_FAILED.code,
          message: `the trusted Gate's shared secret in ${gate.secret.headerName} is not valid (auth.trustedGate.sharedSecret)`,
        };
      }
    }
    return { ok: true, principal: servicePrincipal() };
  }

  private byToken(authorization: string): AuthOutcome {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    if (!match) return { ok: false, code: Errors.AUTHENTICATION_FAILED.code, message: 'the Authorization header must be "Bearer <token>"' };
    const entry = this.tokens.get(digest(match[1]!).toString('hex'));
    if (!entry) return { ok: false, code: Errors.AUTHENTICATION_FAILED.code, message: 'the bearer token is not valid' };
    return { ok: true, principal: this.principal(entry.user, entry.roles, 'token') };
  }

  private byGate(headers: IncomingHttpHeaders, remoteAddress: string | undefined): AuthOutcome {
    const gate = this.gate!;
    const headerName = gate.headerName;
    if (!gate.sources.matches(remoteAddress)) {
      return {
        ok: false,
        code: Errors.AUTHENTICATION_FAILED.code,
        message: `${headerName} is only accepted from the trusted Gate (auth.trustedGate.sources: ${gate.sourcesText}); this connection comes from ${remoteAddress ?? 'an unknown address'}`,
      };
    }
    if (gate.secret) {
      const presented = single(headers[gate.secret.header]);
      if (presented === undefined || !timingSafeEqual(digest(presented.trim()), gate.secret.digest)) {
        return {
          ok: false,
          code: Errors.AUTHENTICATION_FAILED.code,
          message: `${headerName} needs the trusted Gate's shared secret in ${gate.secret.headerName} (auth.trustedGate.sharedSecret)`,
        };
      }
    }
    const rawUser = headers[gate.header];
    const user = typeof rawUser === 'string' ? rawUser.trim() : '';
    if (Array.isArray(rawUser) || user === '' || /[\s,]/.test(user)) {
      return { ok: false, code: Errors.AUTHENTICATION_FAILED.code, message: `${headerName} must name exactly one user (no whitespace or commas)` };
    }
    let roles: string[] = [];
    if (gate.rolesHeader !== undefined) {
      const raw = single(headers[gate.rolesHeader]);
      if (raw !== undefined && raw.trim() !== '') {
        const list = normalizeRoleList(raw.split(','));
        if (list.problems.length > 0) {
          return {
            ok: false,
            code: Errors.AUTHENTICATION_FAILED.code,
            message: `${gate.rolesHeaderName} is malformed: ${list.problems.map(problemText).join('; ')}`,
          };
        }
        roles = list.roles;
      }
    }
    return { ok: true, principal: this.principal(user, roles, 'gate') };
  }
}
