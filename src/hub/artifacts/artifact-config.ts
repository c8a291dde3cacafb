import { z } from 'zod';
import { isSecretReference } from '../../common/secret-reference.ts';
import { parseRuleCidr } from './ip-ranges.ts';

/**
 * The hub's `artifacts` section: Clouddriver's artifact accounts (`artifacts.github.accounts[]`, …, the
 * same keys), the limits of every fetch and the addresses fetching may reach. Every key and default is
 * in docs/configuration.md ("Artifacts").
 */

/** Largest artifact the hub reads: manifests are kilobytes, charts rarely a few MiB. */
export const DEFAULT_ARTIFACT_MAX_BYTES = 20 * 1024 * 1024;
/**
 * Largest Helm repository index read. Indexes list every version of every chart and grow for years:
 * most are well under 1 MiB, the largest public ones several MiB. Parsing costs about 40 ms and 5 MiB
 * of the parser thread's memory per MiB (docs/configuration.md, "Artifacts").
 */
export const DEFAULT_HELM_INDEX_MAX_BYTES = 10 * 1024 * 1024;
/** How long a Helm account reuses its parsed index: Deck asks names, then versions, then Orca fetches. */
export const DEFAULT_HELM_INDEX_CACHE_MS = 60_000;
/** Upstream fetches at once, each holding up to maxBytes until it is answered. */
export const DEFAULT_MAX_CONCURRENT_FETCHES = 8;
/** Fetches waiting for one of those; one more is ARTIFACT_FETCH_BUSY (503). */
export const DEFAULT_MAX_QUEUED_FETCHES = 16;
/**
 * Where an account's credentials go when its `origins` are not set (the providers' public services);
 * http accounts have no such default and must list them.
 */
export const DEFAULT_CREDENTIAL_ORIGINS = {
  github: 'https://api.github.com',
  gitlab: 'https://gitlab.com',
  bitbucket: 'https://api.bitbucket.org',
} as const;
/** One fetch, redirects and body included. */
export const DEFAULT_ARTIFACT_TIMEOUT_MS = 30_000;
/** Opening one connection (a black-holed address fails here rather than at the whole fetch's deadline). */
export const DEFAULT_ARTIFACT_CONNECT_TIMEOUT_MS = 5_000;
/** Redirects followed per fetch, each one checked again. */
export const DEFAULT_ARTIFACT_MAX_REDIRECTS = 5;
const MAX_REDIRECTS_CEILING = 20;
const MIN_MAX_BYTES = 1024;
const MIN_TIMEOUT_MS = 10;
/** Clouddriver's default for github accounts (the media type is application/vnd.github.<version>.raw). */
export const DEFAULT_GITHUB_API_VERSION = 'v3';

function noSecretReference(value: string, ctx: z.RefinementCtx): void {
  if (isSecretReference(value)) {
    ctx.addIssue({
      code: 'custom',
      message: 'secret references (encrypted:…) are resolved by agents, not by the hub: give the secret through the matching …File or …Env key',
    });
  }
}

const secretValue = z.string().min(1).superRefine(noSecretReference);
const path = z.string().min(1);
const envName = z.string().min(1);

/** At most one of the fields is set (each names one way to give the same secret). */
function atMostOne(fields: readonly string[]) {
  return (value: Record<string, unknown>, ctx: z.RefinementCtx) => {
    const given = fields.filter((f) => value[f] !== undefined);
    if (given.length > 1) ctx.addIssue({ code: 'custom', path: [given[1]!], message: `set only one of ${given.join(', ')}` });
  };
}

/** A token (Clouddriver's `token`, `tokenFile`; and `tokenEnv` as in the hub's `auth.tokens`). */
const tokenFields = {
  /** The token itself (prefer tokenFile or tokenEnv: a configuration file is often readable by more people). */
  token: secretValue.optional(),
  /** A file holding the token, trailing whitespace ignored; read again at every fetch, so a rotated file takes effect. */
  tokenFile: path.optional(),
  /** An environment variable holding the token, read at start. */
  tokenEnv: envName.optional(),
};
const TOKEN_KEYS = ['token', 'tokenFile', 'tokenEnv'] as const;

/** HTTP basic authentication (Clouddriver's `username`, `password`, `usernamePasswordFile`; and passwordFile, passwordEnv). */
const basicFields = {
  username: z.string().min(1).optional(),
  password: secretValue.optional(),
  /** A file holding the password, read again at every fetch. */
  passwordFile: path.optional(),
  /** An environment variable holding the password, read at start. */
  passwordEnv: envName.optional(),
  /** A file holding `username:password` (Clouddriver's key), read again at every fetch. */
  usernamePasswordFile: path.optional(),
};
const PASSWORD_KEYS = ['password', 'passwordFile', 'passwordEnv'] as const;

function basicRules(value: Record<string, unknown>, ctx: z.RefinementCtx): void {
  atMostOne(PASSWORD_KEYS)(value, ctx);
  const password = PASSWORD_KEYS.some((k) => value[k] !== undefined);
  if (value.usernamePasswordFile !== undefined && (value.username !== undefined || password)) {
    ctx.addIssue({ code: 'custom', path: ['usernamePasswordFile'], message: 'usernamePasswordFile replaces username and password: set one or the other' });
  } else if (value.username !== undefined && !password) {
    ctx.addIssue({ code: 'custom', path: ['username'], message: 'username needs a password (password, passwordFile or passwordEnv)' });
  } else if (value.username === undefined && password) {
    ctx.addIssue({ code: 'custom', path: ['password'], message: 'a password needs a username' });
  }
}

const accountName = z.string().min(1);

const httpUrl = z
  .string()
  .min(1)
  .superRefine((text, ctx) => {
    let url: URL | undefined;
    try {
      url = new URL(text);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      ctx.addIssue({ code: 'custom', message: `"${text}" is not an http(s) URL` });
  });

/** One origin (`https://ghe.example.com`, `http://10.0.0.5:8080`): scheme, host and port, normalised. */
const origin = z
  .string()
  .min(1)
  .transform((text, ctx) => {
    let url: URL | undefined;
    try {
      url = new URL(text);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      ctx.addIssue({ code: 'custom', message: `"${text}" is not an http(s) origin (like https://github.example.com)` });
      return z.NEVER;
    }
    if (url.username !== '' || url.password !== '' || url.pathname !== '/' || url.search !== '' || url.hash !== '') {
      // A path would suggest the credentials stay under it; they go to the whole origin.
      ctx.addIssue({ code: 'custom', message: `"${text}" is not an origin: give the scheme, host and port only (${url.origin})` });
      return z.NEVER;
    }
    return url.origin;
  });

/**
 * The origins the account's credentials may be sent to: a reference elsewhere is refused
 * (ARTIFACT_ORIGIN_REFUSED), because the reference is chosen by whoever calls PUT /artifacts/fetch/.
 * Set, it bounds an account without credentials too.
 */
const originsField = { origins: z.array(origin).min(1).optional() };

export const httpAccountSchema = z
  .object({ name: accountName, ...basicFields, ...originsField })
  .strict()
  .superRefine((value, ctx) => {
    basicRules(value, ctx);
    const password = PASSWORD_KEYS.some((k) => value[k] !== undefined);
    const credentials = (value.username !== undefined && password) || value.usernamePasswordFile !== undefined;
    if (credentials && value.origins === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['origins'],
        message: 'an http account with credentials must list the origins they may be sent to (origins: [https://files.example.com])',
      });
    }
  });

export const githubAccountSchema = z
  .object({
    name: accountName,
    ...basicFields,
    ...tokenFields,
    ...originsField,
    /** Fetch the file through the content API's raw media type in one request, instead of its metadata's download_url. */
    useContentAPI: z.boolean().default(false),
    /** The API version in the raw media type (application/vnd.github.<version>.raw). */
    githubAPIVersion: z.string().min(1).default(DEFAULT_GITHUB_API_VERSION),
  })
  .strict()
  .superRefine((value, ctx) => {
    atMostOne(TOKEN_KEYS)(value, ctx);
    basicRules(value, ctx);
  });

export const gitlabAccountSchema = z
  .object({ name: accountName, ...tokenFields, ...originsField })
  .strict()
  .superRefine(atMostOne(TOKEN_KEYS));

export const bitbucketAccountSchema = z
  .object({ name: accountName, ...basicFields, ...tokenFields, ...originsField })
  .strict()
  .superRefine((value, ctx) => {
    atMostOne(TOKEN_KEYS)(value, ctx);
    basicRules(value, ctx);
  });

export const helmAccountSchema = z
  .object({
    name: accountName,
    /** The chart repository's URL: its index is `<repository>/index.yaml`, relative chart URLs are resolved against it. */
    repository: httpUrl,
    ...basicFields,
  })
  .strict()
  .superRefine(basicRules);

/** Clouddriver's SSH keys of git/repo accounts, refused by name: the hub runs no git or ssh program. */
const GIT_SSH_KEYS = [
  'sshPrivateKeyFilePath',
  'sshPrivateKeyPassphrase',
  'sshPrivateKeyPassphraseCmd',
  'sshKnownHostsFilePath',
  'sshTrustUnknownHosts',
] as const;

/**
 * `git/repo` accounts (Clouddriver's GitRepoArtifactAccount): username and password, username and
 * token, or a token alone (sent as the password of the user `token`), all as HTTP basic authentication.
 * With credentials, `origins` is required: the repository URL is the caller's choice, and no git host
 * is the obvious default.
 */
export const gitRepoAccountSchema = z
  .object({
    name: accountName,
    ...basicFields,
    ...tokenFields,
    ...originsField,
    sshPrivateKeyFilePath: z.unknown().optional(),
    sshPrivateKeyPassphrase: z.unknown().optional(),
    sshPrivateKeyPassphraseCmd: z.unknown().optional(),
    sshKnownHostsFilePath: z.unknown().optional(),
    sshTrustUnknownHosts: z.unknown().optional(),
  })
  .strict()
  .superRefine((value, ctx) => {
    for (const key of GIT_SSH_KEYS) {
      if (value[key] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'SSH is not supported (the hub runs no git or ssh program): fetch over https with username and password or a token',
        });
      }
    }
    atMostOne(TOKEN_KEYS)(value, ctx);
    atMostOne(PASSWORD_KEYS)(value, ctx);
    const password = PASSWORD_KEYS.some((k) => value[k] !== undefined);
    const token = TOKEN_KEYS.some((k) => value[k] !== undefined);
    if (password && token) ctx.addIssue({ code: 'custom', path: ['token'], message: 'set a password or a token, not both' });
    if (value.usernamePasswordFile !== undefined && (value.username !== undefined || password || token)) {
      ctx.addIssue({
        code: 'custom',
        path: ['usernamePasswordFile'],
        message: 'usernamePasswordFile replaces username, password and token: set one or the other',
      });
    } else if (value.username !== undefined && !password && !token) {
      ctx.addIssue({ code: 'custom', path: ['username'], message: 'username needs a password (password, passwordFile or passwordEnv) or a token' });
    } else if (value.username === undefined && password) {
      ctx.addIssue({ code: 'custom', path: ['password'], message: 'a password needs a username' });
    }
    if ((password || token || value.usernamePasswordFile !== undefined) && value.origins === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['origins'],
        message: 'a gitRepo account with credentials must list the origins they may be sent to (origins: [https://git.example.com])',
      });
    }
  });

/**
 * One provider's section (`artifacts.github`, …). Clouddriver reads its accounts only with `enabled:
 * true`; here `enabled` defaults to whether accounts are listed, so a section with accounts works as
 * copied from Clouddriver and one without them stays off. `enabled: false` ignores the accounts.
 */
function provider<T extends z.ZodType<{ name: string }>>(account: T) {
  return z
    .object({ enabled: z.boolean().optional(), accounts: z.array(account).default([]) })
    .strict()
    .prefault({})
    .superRefine(uniqueNames)
    .transform((section) => ({ enabled: section.enabled ?? section.accounts.length > 0, accounts: section.accounts }));
}

function uniqueNames(section: { accounts: ReadonlyArray<{ name: string }> }, ctx: z.RefinementCtx): void {
  const seen = new Map<string, number>();
  section.accounts.forEach((a, i) => {
    const first = seen.get(a.name);
    if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['accounts', i, 'name'], message: `the same name as accounts[${first}]` });
    else seen.set(a.name, i);
  });
}

/** `artifacts.helm`: a provider section, with the bounds of the repositories' indexes. */
const helmSection = z
  .object({
    enabled: z.boolean().optional(),
    accounts: z.array(helmAccountSchema).default([]),
    /** Largest index.yaml read (ARTIFACT_TOO_LARGE beyond); its own bound, since parsing costs far more than holding bytes. */
    indexMaxBytes: z.number().int().min(MIN_MAX_BYTES).default(DEFAULT_HELM_INDEX_MAX_BYTES),
    /** How long an account reuses its parsed index; 0: loaded for every request (concurrent ones still share one load). */
    indexCacheMs: z.number().int().min(0).default(DEFAULT_HELM_INDEX_CACHE_MS),
  })
  .strict()
  .prefault({})
  .superRefine(uniqueNames)
  .transform((section) => ({ ...section, enabled: section.enabled ?? section.accounts.length > 0 }));

const cidrEntry = z.string().superRefine((text, ctx) => {
  const parsed = parseRuleCidr(text);
  if ('problem' in parsed) ctx.addIssue({ code: 'custom', message: parsed.problem });
});

export const artifactsConfigSchema = z
  .object({
    /** Largest artifact or GitHub metadata read; a larger one is ARTIFACT_TOO_LARGE. */
    maxBytes: z.number().int().min(MIN_MAX_BYTES).default(DEFAULT_ARTIFACT_MAX_BYTES),
    /** Upstream fetches at once (all accounts); more wait in a queue. */
    maxConcurrentFetches: z.number().int().min(1).default(DEFAULT_MAX_CONCURRENT_FETCHES),
    /** Fetches that may wait for a slot; beyond, or after waiting timeoutMs, ARTIFACT_FETCH_BUSY (503, Retry-After). */
    maxQueuedFetches: z.number().int().min(0).default(DEFAULT_MAX_QUEUED_FETCHES),
    /** Deadline of one fetch, every redirect and the whole body included (ARTIFACT_FETCH_TIMEOUT). */
    timeoutMs: z.number().int().min(MIN_TIMEOUT_MS).default(DEFAULT_ARTIFACT_TIMEOUT_MS),
    /** Deadline of opening one connection. */
    connectTimeoutMs: z.number().int().min(MIN_TIMEOUT_MS).default(DEFAULT_ARTIFACT_CONNECT_TIMEOUT_MS),
    /** Redirects followed per fetch; one more is ARTIFACT_FETCH_FAILED. */
    maxRedirects: z.number().int().min(0).max(MAX_REDIRECTS_CEILING).default(DEFAULT_ARTIFACT_MAX_REDIRECTS),
    /** Which addresses fetching may connect to (src/hub/artifacts/address-policy.ts). */
    network: z
      .object({
        /** CIDR blocks or addresses allowed, even in the ranges refused by default (loopback, private, link-local, …). */
        allow: z.array(cidrEntry).default([]),
        /** CIDR blocks or addresses always refused; deny wins over allow. */
        deny: z.array(cidrEntry).default([]),
        /** Whether public addresses (outside every refused range) are allowed; false = only `allow`. */
        allowPublic: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    /** `http/file`: the reference is the URL. With no account using authentication, Clouddriver's `no-auth-http-account` is added. */
    http: provider(httpAccountSchema),
    /** `github/file`: the reference is the content API URL (`https://api.github.com/repos/{owner}/{repo}/contents/{path}`), version the ref. */
    github: provider(githubAccountSchema),
    /** `gitlab/file`: the reference is the files API URL (`…/api/v4/projects/{id}/repository/files/{path}/raw`), version the ref. */
    gitlab: provider(gitlabAccountSchema),
    /** `bitbucket/file`: the reference is the raw file URL, fetched as is. */
    bitbucket: provider(bitbucketAccountSchema),
    /** `helm/chart` (and `helm/index`): name and version pick a chart from the repository's index. */
    helm: helmSection,
    /** `git/repo`: the reference is the repository URL (http(s)), version the branch, tag or commit; the answer a tar.gz of its tree. */
    gitRepo: provider(gitRepoAccountSchema),
  })
  .strict()
  .prefault({});

export type ArtifactsConfig = z.output<typeof artifactsConfigSchema>;
export type HttpAccountConfig = z.output<typeof httpAccountSchema>;
export type GithubAccountConfig = z.output<typeof githubAccountSchema>;
export type GitlabAccountConfig = z.output<typeof gitlabAccountSchema>;
export type BitbucketAccountConfig = z.output<typeof bitbucketAccountSchema>;
export type HelmAccountConfig = z.output<typeof helmAccountSchema>;
export type GitRepoAccountConfig = z.output<typeof gitRepoAccountSchema>;
