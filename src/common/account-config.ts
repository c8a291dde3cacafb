import { z } from 'zod';

/*
 * One Kubernetes account as the agent runs it: an entry of the agent's kubernetes.accounts[], or a
 * dynamic account definition the hub stores and sends to its agents. Shared so that the hub refuses at
 * submission what an agent would refuse.
 */

/**
 * Roles as Clouddriver writes them (`permissions: {READ: [..], WRITE: [..]}`) or as the Armory agent
 * does (`permissions: [{READ: [..]}, {WRITE: [..]}]`); both become the map form.
 */
/** What a role may be granted on an account (Fiat's authorizations); anything else is a typo to refuse, not a key to carry. */
export const AUTHORIZATIONS: readonly string[] = ['READ', 'WRITE', 'EXECUTE', 'CREATE'];
const roleListSchema = z.array(z.string());
const permissionMapSchema = z.record(z.string(), roleListSchema).superRefine((map, ctx) => {
  for (const key of Object.keys(map)) {
    if (!AUTHORIZATIONS.includes(key))
      ctx.addIssue({ code: 'custom', path: [key], message: `unknown authorization "${key}"; use ${AUTHORIZATIONS.join(', ')}` });
  }
});
const permissionsSchema = z
  .union([
    z.record(z.string(), roleListSchema),
    z.array(z.record(z.string(), roleListSchema)).transform((list) => Object.assign({}, ...list) as Record<string, string[]>),
  ])
  .pipe(permissionMapSchema)
  .default({});

/**
 * Fields of Clouddriver's Kubernetes account (KubernetesAccountProperties.ManagedAccount, and Halyard's
 * older ones) that mean nothing to an agent that watches clusters through their API, with the reason.
 * They are accepted, so that an account definition copied from Clouddriver (or sent through its
 * Account Management API) carries over; the agent warns about each at start (src/agent/armory-compat).
 * `requiredGroupMembership` is not here: it becomes the permissions, as in Clouddriver.
 */
const CLOUDDRIVER_ONLY = {
  cacheThreads: "Clouddriver's caching agents poll the cluster; this agent lists once and then watches, so there is no caching thread to size",
  cacheIntervalSeconds: "Clouddriver's caching agents poll the cluster; this agent lists once and then watches, so changes arrive as they happen",
  kubectlExecutable: 'the agent calls the Kubernetes API directly, without kubectl',
  kubectlRequestTimeoutSeconds: 'the agent calls the Kubernetes API directly, without kubectl; the request timeout is kubernetes.requestTimeoutSeconds',
  dockerRegistries: "Clouddriver's Kubernetes V1 provider (removed from Spinnaker) used it; V2 accounts ignore it",
  configureImagePullSecrets: "Clouddriver's Kubernetes V1 provider (removed from Spinnaker) used it; V2 accounts ignore it",
  providerVersion: 'only the V2 (manifest-based) provider exists here',
  skin: 'only the V2 (manifest-based) provider exists here',
  customResources:
    'kinds are discovered from the API server (custom resources included) and shown by their kind; there is no per-kind Spinnaker mapping to declare',
  cachingPolicies: 'the agent watches every kind its kinds/omitKinds select, with no per-kind cache limit; narrow the kinds instead',
  oAuthServiceAccount: 'Google OAuth for GKE is not built in; use a kubeconfig with a token, or an exec credential plugin (gke-gcloud-auth-plugin)',
  oAuthScopes: 'Google OAuth for GKE is not built in; use a kubeconfig with a token, or an exec credential plugin (gke-gcloud-auth-plugin)',
  oauthScopes: 'Google OAuth for GKE is not built in; use a kubeconfig with a token, or an exec credential plugin (gke-gcloud-auth-plugin)',
  liveManifestCalls: 'manifests are read from the cache, which the watches keep current',
  checkPermissionsOnStartup: 'every kind is checked by listing it; a kind the account may not read is reported as forbidden and retried',
  cacheAllApplicationRelationships: "the hub relates objects to applications from the cached objects' monikers",
  namingStrategy: "the hub reads Spinnaker's moniker annotations (Clouddriver's default kubernetesAnnotations strategy), the only one here",
  debug: 'use logging.level: debug',
  metrics: "pod metrics (top pod) are not collected; a manifest's metrics are an empty list",
  rawResourcesEndpointConfig: 'the raw resources endpoint shows every cached kind; narrow the kinds with kinds/omitKinds',
  user: "Halyard's kubeconfig override; pick the context with context instead",
  cluster: "Halyard's kubeconfig override; pick the context with context instead",
  type: 'every account here is a Kubernetes account (the type tag of Clouddriver Account Management)',
} as const satisfies Record<string, string>;

type ClouddriverOnlyField = keyof typeof CLOUDDRIVER_ONLY;

export const CLOUDDRIVER_ONLY_ACCOUNT_FIELDS: Readonly<Record<string, string>> = CLOUDDRIVER_ONLY;

/** The Clouddriver-only fields a raw account entry sets. */
export function clouddriverOnlyFields(account: unknown): string[] {
  if (typeof account !== 'object' || account === null) return [];
  return Object.keys(account).filter((key) => Object.hasOwn(CLOUDDRIVER_ONLY_ACCOUNT_FIELDS, key));
}

const ignoredFieldsShape = Object.fromEntries(Object.keys(CLOUDDRIVER_ONLY).map((key) => [key, z.unknown().optional()])) as Record<
  ClouddriverOnlyField,
  z.ZodOptional<z.ZodUnknown>
>;

export const accountSchema = z
  .object({
    name: z.string().min(1),
    /** kubeconfig path (infrastructure mode). */
    kubeconfigFile: z.string().min(1).optional(),
    /** Inline kubeconfig YAML, instead of a file. */
    kubeconfigContents: z.string().min(1).optional(),
    context: z.string().min(1).optional(),
    /** Skip verification of the API server's TLS certificate (Armory's insecure; for test clusters only). */
    insecure: z.boolean().default(false),
    /** Use the pod's own service account against the in-cluster API server (agent mode). */
    serviceAccount: z.boolean().default(false),
    /** Watch only these kinds ("Deployment", "deployment", "Widget.example.com"); empty = all. */
    kinds: z.array(z.string().min(1)).default([]),
    omitKinds: z.array(z.string().min(1)).default([]),
    /** Watch only these namespaces; empty = all. */
    namespaces: z.array(z.string().min(1)).default([]),
    omitNamespaces: z.array(z.string().min(1)).default([]),
    onlyNamespacedResources: z.boolean().default(false),
    onlySpinnakerManaged: z.boolean().default(false),
    permissions: permissionsSchema,
    /** Clouddriver's older form of permissions: these roles may read and write (used when permissions is empty). */
    requiredGroupMembership: z.array(z.string().min(1)).default([]),
    environment: z.string().min(1).optional(),
    accountType: z.string().min(1).optional(),
    ...ignoredFieldsShape,
  })
  .strict()
  .superRefine((account, ctx) => {
    const sources = [account.kubeconfigFile, account.kubeconfigContents, account.serviceAccount ? true : undefined].filter((s) => s !== undefined);
    if (sources.length !== 1) {
      ctx.addIssue({ code: 'custom', message: 'set exactly one of kubeconfigFile, kubeconfigContents or serviceAccount: true', path: ['kubeconfigFile'] });
    }
    if (account.kinds.length > 0 && account.omitKinds.length > 0) {
      ctx.addIssue({ code: 'custom', message: 'kinds and omitKinds are mutually exclusive', path: ['omitKinds'] });
    }
    if (account.namespaces.length > 0 && account.omitNamespaces.length > 0) {
      ctx.addIssue({ code: 'custom', message: 'namespaces and omitNamespaces are mutually exclusive', path: ['omitNamespaces'] });
    }
  })
  .transform((account) => {
    const kept: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(account)) if (!Object.hasOwn(CLOUDDRIVER_ONLY_ACCOUNT_FIELDS, key)) kept[key] = value;
    const { requiredGroupMembership, permissions, ...rest } = kept as Omit<typeof account, ClouddriverOnlyField>;
    // Clouddriver (Fiat) grants READ and WRITE to requiredGroupMembership when no permissions are given.
    const effective =
      Object.keys(permissions).length === 0 && requiredGroupMembership.length > 0
        ? { READ: [...requiredGroupMembership], WRITE: [...requiredGroupMembership] }
        : permissions;
    return { ...rest, permissions: effective };
  });

export type AccountConfig = z.output<typeof accountSchema>;
