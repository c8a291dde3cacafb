import { z } from 'zod';

/** Armory's defaults for the Vault auth mounts. */
export const DEFAULT_VAULT_KUBERNETES_PATH = 'kubernetes';
export const DEFAULT_VAULT_USERPASS_PATH = 'userpass';

const AUTH_METHODS = ['TOKEN', 'KUBERNETES', 'USERPASS'] as const;
export type VaultAuthMethod = (typeof AUTH_METHODS)[number];

/** TOKEN, KUBERNETES or USERPASS in any case (Armory's configurations write them upper case). */
const authMethodSchema = z.string().transform((value, ctx): VaultAuthMethod => {
  const method = value.trim().toUpperCase();
  if (!(AUTH_METHODS as readonly string[]).includes(method)) {
    ctx.addIssue({ code: 'custom', message: `unknown Vault auth method "${value}"; one of ${AUTH_METHODS.join(', ')} (any case)` });
    return z.NEVER;
  }
  return method as VaultAuthMethod;
});

/**
 * `secrets.vault`: the Vault server that `encrypted:vault!…` and `encryptedFile:vault!…` references
 * are resolved against (Armory's keys and meanings). Checked only when enabled.
 */
export const vaultSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** The Vault server, e.g. https://vault.example.com:8200. */
    url: z.string().min(1).optional(),
    /** TOKEN (token, else the VAULT_TOKEN environment variable), KUBERNETES (the pod's service account) or USERPASS. */
    authMethod: authMethodSchema.default('TOKEN'),
    /** KUBERNETES: the Vault role to log in as. */
    role: z.string().min(1).optional(),
    /** KUBERNETES: the mount of the Kubernetes auth method. */
    path: z.string().min(1).default(DEFAULT_VAULT_KUBERNETES_PATH),
    /** USERPASS: the user and password, and the mount of the userpass auth method. */
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    userAuthPath: z.string().min(1).default(DEFAULT_VAULT_USERPASS_PATH),
    /** Vault Enterprise namespace (X-Vault-Namespace). */
    namespace: z.string().min(1).optional(),
    /** TOKEN: the token; default the VAULT_TOKEN environment variable. */
    token: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (!v.enabled) return;
    if (v.url === undefined) ctx.addIssue({ code: 'custom', message: 'url is required when Vault is enabled', path: ['url'] });
    if (v.authMethod === 'KUBERNETES' && v.role === undefined)
      ctx.addIssue({ code: 'custom', message: 'authMethod KUBERNETES needs role (the Vault role to log in as)', path: ['role'] });
    if (v.authMethod === 'USERPASS') {
      if (v.username === undefined) ctx.addIssue({ code: 'custom', message: 'authMethod USERPASS needs username', path: ['username'] });
      if (v.password === undefined) ctx.addIssue({ code: 'custom', message: 'authMethod USERPASS needs password', path: ['password'] });
    }
  })
  .prefault({});

export type VaultConfig = z.output<typeof vaultSchema>;

/** `secrets.*`: secret engines for references in the configuration. Vault is the one the Armory agent has. */
export const secretsSchema = z.object({ vault: vaultSchema }).strict().prefault({});

export type SecretsConfig = z.output<typeof secretsSchema>;
