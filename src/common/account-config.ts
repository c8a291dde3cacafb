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
const permissionsSchema = z
  .union([
    z.record(z.string(), z.array(z.string())),
    z.array(z.record(z.string(), z.array(z.string()))).transform((list) => Object.assign({}, ...list) as Record<string, string[]>),
  ])
  .default({});

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
    environment: z.string().min(1).optional(),
    accountType: z.string().min(1).optional(),
  })
  .passthrough()
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
  });

export type AccountConfig = z.output<typeof accountSchema>;
