import { z } from 'zod';
import { parseCidr } from './sources.ts';
import { isRestricted, normalizePermissions, normalizeRoleList, type PermissionMap } from './roles.ts';

/**
 * The hub's `auth` section: who may call the REST API and what each caller may see and do. See
 * docs/security.md ("REST authorization") for the model and a worked example.
 */

/** Header Gate (and Orca) put the Spinnaker user in. */
export const DEFAULT_USER_HEADER = 'X-SPINNAKER-USER';
/** Default header for the optional shared secret between a trusted Gate (or its proxy) and the hub. */
export const DEFAULT_GATE_SECRET_HEADER = 'X-Scale-Agent-Gate-Secret';
/**
 * What a request from a trusted Gate source that names no user may do (auth.trustedGate.serviceCalls):
 * `none` refuses it as unauthenticated; `read` lets a GET read every account, as Clouddriver answers
 * Gate's account poll and Fiat's loads, which carry no user. There is deliberately no value that writes.
 */
export const SERVICE_CALL_MODES = ['none', 'read'] as const;
/** Shorter bearer tokens are refused at start: they can be guessed. */
export const MIN_TOKEN_LENGTH = 16;

/** RFC 9110 token characters: what a header name may hold. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const WHITESPACE = /\s/;

const headerName = z.string().regex(HEADER_NAME, 'not a valid HTTP header name');

/** A role list, normalised (trim, lower-case); any malformed entry is an error naming its index. */
export const roleListSchema = z.array(z.unknown()).transform((list, ctx) => {
  const { roles, problems } = normalizeRoleList(list);
  for (const p of problems) ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
  return roles;
});

/** Account permissions in Clouddriver's map form or the Armory agent's list form, normalised. */
export const permissionsSchema = z.unknown().transform((raw, ctx): PermissionMap => {
  const { permissions, problems } = normalizePermissions(raw);
  for (const p of problems) ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
  return permissions;
});

const userName = z
  .string()
  .trim()
  .min(1, 'a user name must not be empty')
  .refine((name) => !WHITESPACE.test(name), 'a user name must not contain whitespace');

/** Exactly one of the inline value, a file or an environment variable. */
function exactlyOne(fields: readonly string[], what: string) {
  return (value: Record<string, unknown>, ctx: z.RefinementCtx) => {
    const given = fields.filter((f) => value[f] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: given.length === 0 ? [] : [given[1]!],
        message: `set exactly one of ${fields.join(', ')} for ${what}${given.length > 1 ? ` (got ${given.join(' and ')})` : ''}`,
      });
    }
  };
}

const tokenSchema = z
  .object({
    /** The token itself (prefer tokenFile or tokenEnv: a config file is often readable by more people). */
    token: z.string().optional(),
    /** A file holding the token (trailing whitespace ignored), read once at start. */
    tokenFile: z.string().min(1).optional(),
    /** An environment variable holding the token, read once at start. */
    tokenEnv: z.string().min(1).optional(),
    /** The user this token authenticates. */
    user: userName,
    /** Roles of the token's user (added to auth.users' roles for the same name). */
    roles: roleListSchema.default([]),
  })
  .strict()
  .superRefine(exactlyOne(['token', 'tokenFile', 'tokenEnv'], 'a token'));

const secretSchema = z
  .object({
    header: headerName.default(DEFAULT_GATE_SECRET_HEADER),
    value: z.string().optional(),
    file: z.string().min(1).optional(),
    env: z.string().min(1).optional(),
  })
  .strict()
  .superRefine(exactlyOne(['value', 'file', 'env'], 'the shared secret'));

const trustedGateSchema = z
  .object({
    /** The header carrying the user name. */
    header: headerName.default(DEFAULT_USER_HEADER),
    /**
     * Addresses (CIDR blocks or single addresses) the header is believed from: Gate's and Orca's pods, or
     * the proxy in front of the hub. The peer address of the TCP connection is matched; X-Forwarded-For
     * is never read.
     */
    sources: z
      .array(
        z.string().superRefine((cidr, ctx) => {
          const problem = parseCidr(cidr).problem;
          if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
        }),
      )
      .min(1, 'list the addresses (CIDR blocks) Gate and Orca connect from'),
    /**
     * Optional: a header with the user's roles (comma-separated) from the same trusted caller, added to
     * auth.users' roles. Gate does not send one itself; a proxy that knows the roles can.
     */
    rolesHeader: headerName.optional(),
    /** Optional: a secret header the trusted caller must also send (a proxy or mesh adds it). */
    sharedSecret: secretSchema.optional(),
    /**
     * Requests from `sources` (with the shared secret, when set) without the user header: Spinnaker's
     * own services calling (Gate's 30 s account poll, Fiat's loads), which send no user and no token.
     * `none` (default): 401 like any caller without credentials. `read`: GET and HEAD read every account
     * as the principal `spinnaker-services`, never write, never admin; other methods stay 401.
     */
    serviceCalls: z.enum(SERVICE_CALL_MODES).default('none'),
  })
  .strict()
  .superRefine((gate, ctx) => {
    if (gate.rolesHeader !== undefined && gate.rolesHeader.toLowerCase() === gate.header.toLowerCase()) {
      ctx.addIssue({ code: 'custom', path: ['rolesHeader'], message: 'must differ from header' });
    }
  });

const userSchema = z
  .object({
    name: userName,
    roles: roleListSchema,
  })
  .strict();

const accountOverrideSchema = z
  .object({
    /** An account name, or a pattern with * (any run of characters) and ? (one character). */
    name: z.string().min(1),
    /** Replaces whatever permissions the agent sent for matching accounts. */
    permissions: permissionsSchema,
  })
  .strict()
  .superRefine((entry, ctx) => {
    if (!isRestricted(entry.permissions)) {
      ctx.addIssue({
        code: 'custom',
        path: ['permissions'],
        message: 'must name at least one role (an override that grants nothing to anyone would read as "unrestricted")',
      });
    }
  });

export const authConfigSchema = z
  .object({
    /**
     * Off by default so the embedded demo and a hub behind an already-authorizing Gate keep working; a
     * hub reachable by anyone but Gate and Orca needs it on.
     */
    enabled: z.boolean().default(false),
    /** Accounts whose permissions name no role: `closed` (nobody may use them) or `open` (every authenticated caller). */
    unrestrictedAccounts: z.enum(['open', 'closed']).default('closed'),
    /** Roles that may call /admin/* and /metrics. */
    adminRoles: roleListSchema.default([]),
    tokens: z.array(tokenSchema).default([]),
    users: z.array(userSchema).default([]),
    trustedGate: trustedGateSchema.optional(),
    /** Per account-name pattern: permissions that replace the agent's (first match wins). */
    accounts: z.array(accountOverrideSchema).default([]),
  })
  .strict()
  .superRefine((auth, ctx) => {
    const names = new Map<string, number>();
    auth.users.forEach((user, i) => {
      const key = user.name.toLowerCase();
      const first = names.get(key);
      if (first !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['users', i, 'name'],
          message: `user "${user.name}" is listed twice (also users[${first}]; names compare case-insensitively)`,
        });
      else names.set(key, i);
    });
    const inline = new Map<string, number>();
    auth.tokens.forEach((token, i) => {
      if (token.token === undefined) return;
      if (token.token.trim().length < MIN_TOKEN_LENGTH)
        ctx.addIssue({ code: 'custom', path: ['tokens', i, 'token'], message: `a token must be at least ${MIN_TOKEN_LENGTH} characters` });
      const first = inline.get(token.token.trim());
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['tokens', i, 'token'], message: `the same token as tokens[${first}]` });
      else inline.set(token.token.trim(), i);
    });
    if (auth.enabled && auth.tokens.length === 0 && auth.trustedGate === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['enabled'],
        message: 'auth.enabled is true but no caller could authenticate: configure auth.tokens and/or auth.trustedGate',
      });
    }
  });

export type AuthConfig = z.output<typeof authConfigSchema>;
export type TokenConfig = AuthConfig['tokens'][number];
export type TrustedGateConfig = NonNullable<AuthConfig['trustedGate']>;
