import { hostname } from 'node:os';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { z } from 'zod';
import { accountSchema } from '../common/account-config.ts';
import { SERVICE_ACCOUNT_DIR } from '../kube/in-cluster.ts';
import { DEFAULT_IN_CLUSTER_ACCOUNT_NAME } from './account/in-cluster-account.ts';
import { loggingSchema } from '../common/logging-config.ts';
import { secretsSchema } from './secrets-config.ts';
import { prometheusSchema, serverSchema } from './server-config.ts';
import {
  DEFAULT_FORBIDDEN_RETRY_MS,
  DEFAULT_PAGE_SIZE,
  DEFAULT_REFLECTOR_BACKOFF,
  DEFAULT_STALL_TIMEOUT_MS,
  DEFAULT_WATCH_TIMEOUT_MAX_SECONDS,
  DEFAULT_WATCH_TIMEOUT_MIN_SECONDS,
} from '../kube/reflector-defaults.ts';

export { DEFAULT_ADMIN_PORT, DEFAULT_PROMETHEUS_PORT, type ServerSslConfig, type PrometheusConfig } from './server-config.ts';
export { type VaultConfig, type SecretsConfig } from './secrets-config.ts';
/**
 * clouddriver.syncCoalesceMs's default: how long a sync request waits for others to share its message.
 * Chosen from the scale benchmark (docs/performance.md, "The coalescing delay"): see there for the
 * measurements behind it.
 */
export const DEFAULT_SYNC_COALESCE_MS = 5;
/** The longest coalescing delay the configuration accepts: it adds to every change's latency. */
export const MAX_SYNC_COALESCE_MS = 100;

/** Where the hub listens by default (Armory's clouddriver.grpc). */
export const DEFAULT_HUB_ADDRESS = 'localhost:9091';
/** Per-request timeout against the API servers (Armory's timeoutSeconds; 0 = none there, not offered here). */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 30;
/** Armory's keepAliveHeartbeatSeconds. */
export const DEFAULT_PING_SECONDS = 20;
/** Armory's tasks.totalBudget and tasks.budgetPerAccount: concurrent initial lists. */
export const DEFAULT_LIST_BUDGET_TOTAL = 50;
export const DEFAULT_LIST_BUDGET_PER_ACCOUNT = 10;
/** Accounts whose cluster is reached (discovery) at once at start. */
export const DEFAULT_ACCOUNT_INIT_CONCURRENCY = 16;
/**
 * Pause between starting the reflectors of one account and the next, so that an agent with hundreds of
 * accounts does not open every watch in the same second (the list budget already bounds the lists). A
 * thousand accounts start within 5 s; at 50 ms they took 50 s, which alone made an initial sync of that
 * many clusters last a minute (docs/performance.md, "scale").
 */
export const DEFAULT_ACCOUNT_START_INTERVAL_MS = 5;
/** Armory's cacheGroupSize / cacheGroupDelayMs: no grouping unless asked for (accountStartIntervalMs paces alone). */
export const DEFAULT_CACHE_GROUP_SIZE = 0;
export const DEFAULT_CACHE_GROUP_DELAY_MS = 0;
/** Armory's zoneId when none is set: no zone, any request for the agent's accounts may reach it. */
export const DEFAULT_ZONE_ID = '';
/** Rediscovery when nothing else triggered one: catches API groups that are not CRDs (aggregated APIs, upgrades). */
export const DEFAULT_DISCOVERY_INTERVAL_SECONDS = 300;
/**
 * A reflector failing (listing or backing off) this long without progress makes /health DOWN; a watching
 * one gets the stall timeout on top, since a quiet watch may legitimately deliver nothing until then.
 */
export const DEFAULT_REFLECTOR_STUCK_SECONDS = 300;
/**
 * How often every feed's digest is compared with what the hub holds (anti-entropy), besides after every
 * reconnect. The hub reads the feed's rows for it: at 1,000 objects a feed that is well under a
 * millisecond of the hub's time per feed and interval (docs/performance.md, "anti-entropy").
 */
export const DEFAULT_DIGEST_INTERVAL_SECONDS = 300;
/** The field manager the agent writes under by default (Kubernetes' managedFields: who set what). */
export const DEFAULT_FIELD_MANAGER = 'scale-agent';
/** Kubernetes refuses longer field manager names. */
const FIELD_MANAGER_MAX_LENGTH = 128;

const MS_PER_SECOND = 1000;

/**
 * Kinds not watched unless listed in `kinds`: high-churn kinds with no place in Spinnaker's views
 * (Events expire in an hour and would dominate the stream), and API bookkeeping.
 */
export const DEFAULT_OMIT_KINDS = [
  'Event',
  'Event.events.k8s.io',
  'Lease.coordination.k8s.io',
  'Endpoints',
  'EndpointSlice.discovery.k8s.io',
  'ControllerRevision.apps',
];

export { accountSchema, type AccountConfig } from '../common/account-config.ts';

/** `kubernetes.reflector`: how every list+watch behaves (client-go's defaults). */
const reflectorSchema = z
  .object({
    /** Items per list page. */
    pageSize: z.number().int().min(1).default(DEFAULT_PAGE_SIZE),
    /** Retry after a failed list or watch: doubling from initialMs to maxMs, ±50 % jitter. */
    backoff: z
      .object({
        initialMs: z.number().int().min(1).default(DEFAULT_REFLECTOR_BACKOFF.initialMs),
        maxMs: z.number().int().min(1).default(DEFAULT_REFLECTOR_BACKOFF.maxMs),
      })
      .strict()
      .prefault({})
      .superRefine((b, ctx) => {
        if (b.maxMs < b.initialMs) ctx.addIssue({ code: 'custom', message: 'maxMs must not be less than initialMs', path: ['maxMs'] });
      }),
    /** A kind the account may not list/watch (403), or that is gone (404), is retried this rarely. */
    forbiddenRetrySeconds: z
      .number()
      .int()
      .min(1)
      .default(DEFAULT_FORBIDDEN_RETRY_MS / MS_PER_SECOND),
    /** A watch that delivers nothing (not even a bookmark) this long is restarted. */
    stallTimeoutSeconds: z
      .number()
      .int()
      .min(1)
      .default(DEFAULT_STALL_TIMEOUT_MS / MS_PER_SECOND),
    /** Each watch asks the server to end it after a random time in [min, max]. */
    watchTimeoutSeconds: z
      .object({
        min: z.number().int().min(1).default(DEFAULT_WATCH_TIMEOUT_MIN_SECONDS),
        max: z.number().int().min(1).default(DEFAULT_WATCH_TIMEOUT_MAX_SECONDS),
      })
      .strict()
      .prefault({})
      .superRefine((w, ctx) => {
        if (w.max < w.min) ctx.addIssue({ code: 'custom', message: 'max must not be less than min', path: ['max'] });
      }),
  })
  .strict()
  .prefault({});

export type ReflectorConfig = z.output<typeof reflectorSchema>;

/** Armory's default for tokenCommand.refreshIntervalSeconds: 0 = run the command for every connection. */
export const DEFAULT_TOKEN_REFRESH_SECONDS = 0;

/** `clouddriver.tls`: how the agent checks the hub and, for mTLS, proves who it is (Armory's keys). */
const hubTlsSchema = z
  .object({
    /** CA bundle the hub's certificate must chain to; default: Node's bundled public roots (plus NODE_EXTRA_CA_CERTS). */
    cacertFile: z.string().min(1).optional(),
    /** The name the hub's certificate must carry (and the SNI sent); default: the host of clouddriver.grpc. */
    serverName: z.string().min(1).optional(),
    /** Client certificate (chain) for mTLS; with clientKeyFile. */
    clientCertFile: z.string().min(1).optional(),
    /** Its private key: PEM, PKCS#8 or PKCS#1 (RSA) or SEC1 (EC), encrypted with clientKeyFilePassword or not. */
    clientKeyFile: z.string().min(1).optional(),
    clientKeyFilePassword: z.string().min(1).optional(),
    /**
     * Accept any certificate from the hub: no chain or name check (the connection is still encrypted,
     * but anyone on the path can pose as the hub). Warned at start; for test benches only.
     */
    insecureSkipVerify: z.boolean().default(false),
  })
  .strict()
  .superRefine((t, ctx) => {
    if ((t.clientCertFile === undefined) !== (t.clientKeyFile === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'clientCertFile and clientKeyFile go together',
        path: [t.clientCertFile === undefined ? 'clientCertFile' : 'clientKeyFile'],
      });
    }
    if (t.clientKeyFilePassword !== undefined && t.clientKeyFile === undefined) {
      ctx.addIssue({ code: 'custom', message: 'clientKeyFilePassword without clientKeyFile', path: ['clientKeyFilePassword'] });
    }
  })
  .prefault({});

/** `clouddriver.auth`: a bearer token sent as gRPC metadata `authorization: Bearer …` on every call. */
const hubAuthSchema = z
  .object({
    /** A static token. */
    token: z.string().min(1).optional(),
    /** A command whose output is the token (e.g. an OIDC or IAP helper); run without a shell. */
    tokenCommand: z
      .object({
        command: z.string().min(1),
        args: z.array(z.string()).default([]),
        /** raw: the whole output, trimmed; json: the output's `token` field. */
        format: z.enum(['raw', 'json']).default('raw'),
        /** Run again this often (and the new token used for new calls); 0 = run for every connection to the hub. */
        refreshIntervalSeconds: z.number().int().min(0).default(DEFAULT_TOKEN_REFRESH_SECONDS),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.token !== undefined && a.tokenCommand !== undefined)
      ctx.addIssue({ code: 'custom', message: 'token and tokenCommand are exclusive', path: ['tokenCommand'] });
  })
  .prefault({});

export type HubTlsConfig = z.output<typeof hubTlsSchema>;
export type HubAuthConfig = z.output<typeof hubAuthSchema>;

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
        requestTimeoutSeconds: z.number().int().min(1).default(DEFAULT_REQUEST_TIMEOUT_SECONDS),
        accountInitConcurrency: z.number().int().min(1).default(DEFAULT_ACCOUNT_INIT_CONCURRENCY),
        accountStartIntervalMs: z.number().int().min(0).default(DEFAULT_ACCOUNT_START_INTERVAL_MS),
        /** Start accounts in groups of this many, cacheGroupDelayMs apart (Armory's keys); 0 = no groups. */
        cacheGroupSize: z.number().int().min(0).default(DEFAULT_CACHE_GROUP_SIZE),
        cacheGroupDelayMs: z.number().int().min(0).default(DEFAULT_CACHE_GROUP_DELAY_MS),
        /** Where the pod's ServiceAccount token, CA and namespace are mounted (serviceAccount accounts, k8s secret references). */
        serviceAccountDir: z.string().min(1).default(SERVICE_ACCOUNT_DIR),
        /**
         * Agent mode (account/in-cluster-account.ts): `auto` registers one account reached with the pod's own
         * ServiceAccount when the agent runs in a pod and no accounts are configured; `always` adds it
         * beside the configured ones; `never` does not.
         */
        inClusterAccount: z
          .object({
            mode: z.enum(['auto', 'always', 'never']).default('auto'),
            name: z.string().min(1).default(DEFAULT_IN_CLUSTER_ACCOUNT_NAME),
          })
          .strict()
          .prefault({}),
        reflector: reflectorSchema,
        discovery: z
          .object({
            /** 0 turns the periodic rediscovery off (the CRD watch still follows definitions). */
            intervalSeconds: z.number().int().min(0).default(DEFAULT_DISCOVERY_INTERVAL_SECONDS),
          })
          .strict()
          .prefault({}),
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
        /** Plaintext connection to the hub: only when set explicitly; the agent warns at start. */
        insecure: z.boolean().default(false),
        tls: hubTlsSchema,
        auth: hubAuthSchema,
        keepAliveHeartbeatSeconds: z.number().positive().default(DEFAULT_PING_SECONDS),
        /**
         * A session that hears nothing from the hub this long is replaced; default (unset) three ping
         * intervals. Armory's key of the same name.
         */
        keepAliveTimeOutSeconds: z.number().positive().optional(),
        /** Ignore the proxy environment variables (grpc_proxy, https_proxy, http_proxy) for the hub connection. */
        noProxy: z.boolean().default(false),
        /** Anti-entropy: how often each feed's digest is compared with the hub's copy; 0 = only after reconnects. */
        digestIntervalSeconds: z.number().int().min(0).default(DEFAULT_DIGEST_INTERVAL_SECONDS),
        /**
         * The highest wire protocol version the hello offers. 2 (the default) carries every account's
         * changes on one SharedSync stream; 1 opens one Sync stream per account. A hub answers with the
         * version the session speaks; set 1 only to pin an agent to the older protocol.
         */
        protocolVersion: z.union([z.literal(1), z.literal(2)]).default(PROTOCOL_VERSION),
        /**
         * Protocol version 2: how long a change batch may wait for those of other accounts to share its
         * message to the hub, in milliseconds; 0 = only batches made in the same turn of the event loop.
         */
        syncCoalesceMs: z.number().int().min(0).max(MAX_SYNC_COALESCE_MS).default(DEFAULT_SYNC_COALESCE_MS),
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
      .superRefine((c, ctx) => {
        const tlsKeys = Object.entries(c.tls)
          .filter(([, v]) => v !== undefined && v !== false)
          .map(([k]) => k);
        if (c.insecure && tlsKeys.length > 0) {
          ctx.addIssue({ code: 'custom', message: `tls.${tlsKeys[0]} needs TLS, but insecure is true (plaintext)`, path: ['tls', tlsKeys[0]!] });
        }
      })
      .prefault({}),
    /**
     * This agent's zone (Armory's zoneId): the hub sends a dynamic account pinned to a zone only to
     * agents of that zone. Empty = no zone.
     */
    zoneId: z.string().default(DEFAULT_ZONE_ID),
    /** Take the dynamic account definitions the hub sends (Armory's dynamicAccountsEnabled). */
    dynamicAccountsEnabled: z.boolean().default(true),
    server: serverSchema,
    prometheus: prometheusSchema,
    secrets: secretsSchema,
    tasks: z
      .object({
        totalBudget: z.number().int().min(1).default(DEFAULT_LIST_BUDGET_TOTAL),
        budgetPerAccount: z.number().int().min(1).default(DEFAULT_LIST_BUDGET_PER_ACCOUNT),
      })
      .strict()
      .prefault({}),
    health: z
      .object({
        /** See DEFAULT_REFLECTOR_STUCK_SECONDS: when a reflector makes /health DOWN. */
        reflectorStuckSeconds: z.number().int().min(1).default(DEFAULT_REFLECTOR_STUCK_SECONDS),
      })
      .strict()
      .prefault({}),
    operations: z
      .object({
        /** How long an operation waits for its writes to reach the hub's cache before answering anyway. */
        cacheSyncTimeoutMs: z.number().int().min(0).default(10_000),
        /**
         * The field manager the agent's writes are recorded under (client-side apply, and server-side apply
         * unless the operation names one). Never kubectl's names: the object's managedFields should say who wrote it.
         */
        fieldManager: z
          .string()
          .min(1)
          .max(FIELD_MANAGER_MAX_LENGTH)
          .regex(/^[\x21-\x7e][\x20-\x7e]*$/, 'printable ASCII, not starting with a space')
          .default(DEFAULT_FIELD_MANAGER),
        /**
         * How the API server treats unknown or duplicate fields in the manifests the agent writes
         * (`fieldValidation`): `Strict` refuses them, as `kubectl apply`'s default `--validate=strict`
         * (and so Clouddriver) does; `Warn` accepts and drops them; `Ignore` drops them silently.
         */
        fieldValidation: z.enum(['Strict', 'Warn', 'Ignore']).default('Strict'),
      })
      .strict()
      .prefault({}),
    logging: loggingSchema,
  })
  .strict();

export type AgentConfig = z.output<typeof agentConfigSchema>;
