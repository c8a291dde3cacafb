import { hostname } from 'node:os';
import { z } from 'zod';
import { loggingSchema } from '../common/logging-config.ts';

/** The agent's admin/health port (Armory's server.port). */
export const DEFAULT_ADMIN_PORT = 8082;
/** Where the hub listens by default (Armory's clouddriver.grpc). */
export const DEFAULT_HUB_ADDRESS = 'localhost:9091';
/** Armory's keepAliveHeartbeatSeconds. */
export const DEFAULT_PING_SECONDS = 20;
/** Armory's tasks.totalBudget and tasks.budgetPerAccount: concurrent initial lists. */
export const DEFAULT_LIST_BUDGET_TOTAL = 50;
export const DEFAULT_LIST_BUDGET_PER_ACCOUNT = 10;

/**
 * Kinds not watched unless listed in `kinds`: high-churn kinds with no place in Spinnaker's views
 * (Events expire in an hour and would dominate the stream), and API bookkeeping.
 */
export const DEFAULT_OMIT_KINDS = ['Event', 'Event.events.k8s.io', 'Lease.coordination.k8s.io', 'Endpoints', 'EndpointSlice.discovery.k8s.io', 'ControllerRevision.apps'];

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

export const agentConfigSchema = z
  .object({
    agent: z
      .object({
        /** Stable id of this agent replica (the pod name in a cluster). */
        id: z.string().min(1).default(hostname()),
      })
      .strict()
      .prefault({}),
    kubernetes: z
      .object({
        accounts: z.array(accountSchema).default([]),
        /** Per-request timeout against the API servers. */
        requestTimeoutSeconds: z.number().int().min(1).default(30),
      })
      .strict()
      .superRefine((k, ctx) => {
        const seen = new Set<string>();
        k.accounts.forEach((a, i) => {
          if (seen.has(a.name)) ctx.addIssue({ code: 'custom', message: `duplicate account name ${a.name}`, path: ['accounts', i, 'name'] });
          seen.add(a.name);
        });
      })
      .prefault({}),
    clouddriver: z
      .object({
        /** host:port of the hub's gRPC endpoint. */
        grpc: z.string().min(1).default(DEFAULT_HUB_ADDRESS),
        /** Plaintext connection to the hub. */
        insecure: z.boolean().default(true),
        keepAliveHeartbeatSeconds: z.number().min(0).default(DEFAULT_PING_SECONDS),
        /** Reconnect backoff (grpc-js defaults: 1 s ×1.6 up to 120 s, ±20 %). */
        backoff: z
          .object({
            initialMs: z.number().int().min(1).default(1000),
            maxMs: z.number().int().min(1).default(120_000),
            multiplier: z.number().min(1).default(1.6),
            jitter: z.number().min(0).max(1).default(0.2),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    server: z
      .object({
        host: z.string().min(1).default('0.0.0.0'),
        port: z.number().int().min(0).max(65535).default(DEFAULT_ADMIN_PORT),
      })
      .strict()
      .prefault({}),
    tasks: z
      .object({
        totalBudget: z.number().int().min(1).default(DEFAULT_LIST_BUDGET_TOTAL),
        budgetPerAccount: z.number().int().min(1).default(DEFAULT_LIST_BUDGET_PER_ACCOUNT),
      })
      .strict()
      .prefault({}),
    operations: z
      .object({
        /** How long an operation waits for its writes to reach the hub's cache before answering anyway. */
        cacheSyncTimeoutMs: z.number().int().min(0).default(10_000),
      })
      .strict()
      .prefault({}),
    logging: loggingSchema,
  })
  .strict();

export type AgentConfig = z.output<typeof agentConfigSchema>;
