import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { loggingSchema } from '../common/logging-config.ts';
import { authConfigSchema } from './auth/auth-config.ts';
import { artifactsConfigSchema } from './artifacts/artifact-config.ts';
import { DEFAULT_LIMITS } from '../protocol/limits.ts';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_POOL_SIZE, databaseUrlProblem } from './store/open-store.ts';

/** Clouddriver's REST port, so Orca and Gate need no port change. */
export const DEFAULT_REST_PORT = 7002;
/** The Armory plugin's gRPC port, so agent configurations carry over. */
export const DEFAULT_GRPC_PORT = 9091;
/** Agents ping this often (Armory's keepAliveHeartbeatSeconds is 20 s). */
export const DEFAULT_PING_INTERVAL_MS = 20_000;
/** Armory's operationWaitMs. */
export const DEFAULT_OPERATION_TIMEOUT_MS = 30_000;
/** Running tasks refresh their row four times in this period; a task silent for longer is orphaned. */
export const DEFAULT_TASK_STALE_AFTER_MS = 120_000;
/**
 * How often a replica polls the relayed operations (operations.relayPollIntervalMs): MySQL/MariaDB has
 * no LISTEN/NOTIFY, so this bounds the extra latency of an operation relayed between replicas there; on
 * PostgreSQL, notifications wake the replicas and the poll runs ten times less often, as a backstop.
 */
export const DEFAULT_RELAY_POLL_INTERVAL_MS = 100;
/** Armory's accountCleanupFrequencySeconds: a disconnected account stays this long before removal. */
export const DEFAULT_ACCOUNT_GRACE_SECONDS = 600;

/** How often a hub replica records in the database that it is alive (hub.heartbeatIntervalSeconds). */
export const DEFAULT_HEARTBEAT_INTERVAL_SECONDS = 5;
/** A replica whose last heartbeat is older than this counts as dead (hub.replicaDeadAfterSeconds): three missed beats. */
export const DEFAULT_REPLICA_DEAD_AFTER_SECONDS = 15;
/**
 * How long a caching assignment lasts without renewal (accounts.cachingLeaseSeconds): the holder renews
 * it every third of this, and another replica's standby may take the account over once it runs out. It
 * bounds failover after a replica dies without releasing its accounts.
 */
export const DEFAULT_CACHING_LEASE_SECONDS = 15;
/**
 * How often a replica reads the version of the dynamic account definitions (accounts.definitionPollIntervalMs):
 * bounds how long a definition written at another replica takes to reach this replica's agents (a write
 * here reaches them at once). One aggregate row per read.
 */
export const DEFAULT_DEFINITION_POLL_INTERVAL_MS = 1_000;

/** How long GET /projects/{project}/clusters waits for Front50's answer (front50.timeoutMs). */
export const DEFAULT_FRONT50_TIMEOUT_MS = 10_000;
/** The largest project Front50 may answer (front50.maxResponseBytes); a project is a few kilobytes. */
export const DEFAULT_FRONT50_MAX_RESPONSE_BYTES = 1024 * 1024;
const MIN_FRONT50_RESPONSE_BYTES = 1024;
const MIN_FRONT50_TIMEOUT_MS = 100;

/** The embedded store when no database is configured (one hub replica). */
export const DEFAULT_DATABASE_URL = 'sqlite:.scale-agent/hub.db';

/** How often the hub re-reads its gRPC certificate files (a rotated certificate serves new connections). */
export const DEFAULT_TLS_RELOAD_SECONDS = 10;

/**
 * A secret given in the file (`"…"` or `{ value: "…" }`), by environment variable (`{ env: NAME }`, read at
 * start) or by file (`{ file: path }`, re-read when it changes).
 */
export const secretRefSchema = z.union([
  z.string().min(1),
  z.object({ value: z.string().min(1) }).strict(),
  z.object({ env: z.string().min(1) }).strict(),
  z.object({ file: z.string().min(1) }).strict(),
]);
export type SecretRef = z.output<typeof secretRefSchema>;

/**
 * `identities[]`: who an agent is (its client certificate's subject or SANs, or its bearer token) and
 * which account names it may register (globs, `*` = any run of characters). See docs/security.md.
 */
export const identitySchema = z
  .object({
    name: z.string().min(1),
    match: z
      .object({
        /** Glob on the client certificate's subject CN (`agent-eu-*`) or its whole subject (`CN=agent-eu-1, O=Acme`). */
        subject: z.string().min(1).optional(),
        /** Glob on any of the client certificate's SANs: DNS names, URIs (`spiffe://…`), IP addresses, e-mails. */
        san: z.string().min(1).optional(),
        /** The bearer token the agent sends (`authorization: Bearer …`). */
        token: secretRefSchema.optional(),
      })
      .strict()
      .superRefine((m, ctx) => {
        if (m.subject === undefined && m.san === undefined && m.token === undefined) {
          ctx.addIssue({ code: 'custom', message: 'set at least one of subject, san or token (to admit any agent, use grpc.allowAnyIdentity: true)' });
        }
      }),
    /** Account names this identity may register: globs, `*` = any run of characters. */
    accounts: z.array(z.string().min(1)).min(1),
  })
  .strict();
export type IdentityConfig = z.output<typeof identitySchema>;

/** `grpc.tls`: the hub's certificate and, for mTLS, the CA its agents' client certificates must chain to. */
const grpcTlsSchema = z
  .object({
    certFile: z.string().min(1),
    keyFile: z.string().min(1),
    /** Password of an encrypted private key. */
    keyPassword: z.string().min(1).optional(),
    /** CA bundle that agents' client certificates must chain to. */
    clientCaFile: z.string().min(1).optional(),
    /** none: no client certificate; optional: verified when given; require: mTLS. Default: require with clientCaFile, else none. */
    clientAuth: z.enum(['none', 'optional', 'require']).optional(),
    /** Files are checked this often and a changed certificate serves new connections; 0 = never. */
    reloadIntervalSeconds: z.number().min(0).default(DEFAULT_TLS_RELOAD_SECONDS),
  })
  .strict()
  .superRefine((t, ctx) => {
    if ((t.clientAuth === 'optional' || t.clientAuth === 'require') && t.clientCaFile === undefined) {
      ctx.addIssue({ code: 'custom', message: `clientAuth ${t.clientAuth} needs clientCaFile (the CA agents' certificates chain to)`, path: ['clientCaFile'] });
    }
    if (t.clientAuth === 'none' && t.clientCaFile !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'clientCaFile is unused with clientAuth: none (use optional or require)', path: ['clientAuth'] });
    }
  })
  .transform((t) => ({ ...t, clientAuth: t.clientAuth ?? (t.clientCaFile === undefined ? ('none' as const) : ('require' as const)) }));
export type GrpcTlsConfig = z.output<typeof grpcTlsSchema>;

const listenSchema = (port: number) =>
  z
    .object({
      host: z.string().min(1).default('0.0.0.0'),
      port: z.number().int().min(0).max(65535).default(port),
    })
    .strict();

export const hubConfigSchema = z
  .object({
    hub: z
      .object({
        /**
         * Identifies this replica in task owners, caching assignments and the replica list; unique per
         * running replica (a restarted replica keeps its id and takes over what its former run held).
         */
        id: z.string().min(1).default(hostname()),
        /** How often this replica records in the database that it is alive. */
        heartbeatIntervalSeconds: z.number().int().min(1).default(DEFAULT_HEARTBEAT_INTERVAL_SECONDS),
        /** A replica silent for this long counts as dead (/health; on SQLite, a second hub may then start). */
        replicaDeadAfterSeconds: z.number().int().min(1).default(DEFAULT_REPLICA_DEAD_AFTER_SECONDS),
      })
      .strict()
      .prefault({}),
    server: listenSchema(DEFAULT_REST_PORT).prefault({}),
    grpc: listenSchema(DEFAULT_GRPC_PORT)
      .extend({
        pingIntervalMs: z.number().int().min(100).default(DEFAULT_PING_INTERVAL_MS),
        /** A session silent for this many ping intervals is closed. */
        missedPingsBeforeDead: z.number().int().min(2).default(3),
        /** Plaintext gRPC (no TLS): only when set explicitly; the hub warns at start. */
        insecure: z.boolean().default(false),
        /** TLS (and mTLS) on the gRPC port. */
        tls: grpcTlsSchema.optional(),
        /** Admit agents that match no entry of `identities`, for any account. Required when `identities` is empty. */
        allowAnyIdentity: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    identities: z.array(identitySchema).default([]),
    database: z
      .object({
        /**
         * `sqlite:<file>` (embedded default), `sqlite::memory:`, `postgres://user:password@host:5432/db`
         * (or postgresql://) or `mysql://user:password@host:3306/db` (or mariadb://).
         */
        url: z.string().min(1).optional(),
        /**
         * The URL from this environment variable instead (read at start): a URL holding a password comes
         * from a Secret (Kubernetes `secretKeyRef`), not from a configuration file many people may read.
         */
        urlEnv: z.string().min(1).optional(),
        /** The URL from this file instead (read at start, trailing white space trimmed): a mounted Secret. */
        urlFile: z.string().min(1).optional(),
        /** Connections to PostgreSQL or MySQL per hub replica (SQLite uses one). */
        poolSize: z.number().int().min(1).max(1000).default(DEFAULT_POOL_SIZE),
        /** How long opening one connection may take before the start fails. */
        connectTimeoutMs: z.number().int().min(100).default(DEFAULT_CONNECT_TIMEOUT_MS),
      })
      .strict()
      .prefault({})
      .transform(({ url, urlEnv, urlFile, ...pool }, ctx) => {
        const resolved = resolveDatabaseUrl({ url, urlEnv, urlFile });
        if ('problem' in resolved) {
          ctx.addIssue({ code: 'custom', message: resolved.problem, path: [resolved.key] });
          return z.NEVER;
        }
        const problem = databaseUrlProblem(resolved.url);
        if (problem !== undefined) {
          ctx.addIssue({ code: 'custom', message: problem, path: [resolved.key] });
          return z.NEVER;
        }
        return { url: resolved.url, ...pool };
      }),
    operations: z
      .object({
        /** Deadline of one hub→agent operation (a delete's grace period is added to it). */
        timeoutMs: z.number().int().min(100).default(DEFAULT_OPERATION_TIMEOUT_MS),
        /** A STARTED task no replica updated for this long is failed as orphaned (its replica died). */
        taskStaleAfterMs: z.number().int().min(1000).default(DEFAULT_TASK_STALE_AFTER_MS),
        /** How often the relayed operations are polled (MySQL; PostgreSQL polls ten times less often and is woken by NOTIFY). */
        relayPollIntervalMs: z.number().int().min(10).max(10_000).default(DEFAULT_RELAY_POLL_INTERVAL_MS),
        /**
         * Store tasks' requests without Secret values (docs/security.md). A task whose request held some
         * then never fails retryably: its stored request cannot be run again.
         */
        redactSecretValues: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    accounts: z
      .object({
        gracePeriodSeconds: z.number().int().min(0).default(DEFAULT_ACCOUNT_GRACE_SECONDS),
        /** How long an account's caching assignment lasts unrenewed; renewed every third of it (failover bound). */
        cachingLeaseSeconds: z.number().int().min(1).default(DEFAULT_CACHING_LEASE_SECONDS),
        /** How often the dynamic account definitions are checked for changes made at other replicas (and deletions finished). */
        definitionPollIntervalMs: z.number().int().min(50).max(60_000).default(DEFAULT_DEFINITION_POLL_INTERVAL_MS),
      })
      .strict()
      .prefault({}),
    limits: z
      .object({
        maxBatchBytes: z.number().int().min(1024).default(DEFAULT_LIMITS.maxBatchBytes),
        maxBatchChanges: z.number().int().min(1).default(DEFAULT_LIMITS.maxBatchChanges),
        maxObjectBytes: z.number().int().min(1024).default(DEFAULT_LIMITS.maxObjectBytes),
        maxUnackedBatches: z.number().int().min(1).default(DEFAULT_LIMITS.maxUnackedBatches),
      })
      .strict()
      .prefault({}),
    /** REST authorization: tokens, trusted Gate, roles, account permissions (docs/security.md). */
    auth: authConfigSchema.prefault({}),
    /**
     * Front50, for GET /projects/{project}/clusters (Clouddriver's `services.front50.baseUrl`). Unset, the
     * hub knows no projects: every project is a 404 (docs/spinnaker.md).
     */
    front50: z
      .object({
        baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL, e.g. http://spin-front50:8080' }).optional(),
        timeoutMs: z.number().int().min(MIN_FRONT50_TIMEOUT_MS).default(DEFAULT_FRONT50_TIMEOUT_MS),
        maxResponseBytes: z.number().int().min(MIN_FRONT50_RESPONSE_BYTES).default(DEFAULT_FRONT50_MAX_RESPONSE_BYTES),
      })
      .strict()
      .prefault({}),
    /** Artifact accounts (Clouddriver's `artifacts:` keys), fetch limits and the addresses fetching may reach (docs/configuration.md, "Artifacts"). */
    artifacts: artifactsConfigSchema,
    logging: loggingSchema,
  })
  .strict()
  .superRefine((c, ctx) => {
    const { grpc, identities, hub } = c;
    if (hub.replicaDeadAfterSeconds <= hub.heartbeatIntervalSeconds) {
      ctx.addIssue({
        code: 'custom',
        message: `hub.replicaDeadAfterSeconds (${hub.replicaDeadAfterSeconds}) must be greater than hub.heartbeatIntervalSeconds (${hub.heartbeatIntervalSeconds}): otherwise a live replica counts as dead between two of its heartbeats`,
        path: ['hub', 'replicaDeadAfterSeconds'],
      });
    }
    if (grpc.insecure && grpc.tls !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'grpc.insecure: true and grpc.tls are exclusive', path: ['grpc', 'insecure'] });
    }
    const certificatesChecked = grpc.tls !== undefined && grpc.tls.clientAuth !== 'none';
    const seen = new Set<string>();
    identities.forEach((identity, i) => {
      if (seen.has(identity.name)) ctx.addIssue({ code: 'custom', message: `duplicate identity name ${identity.name}`, path: ['identities', i, 'name'] });
      seen.add(identity.name);
      for (const field of ['subject', 'san'] as const) {
        if (identity.match[field] !== undefined && !certificatesChecked) {
          ctx.addIssue({
            code: 'custom',
            message: `matches a client certificate, but the hub does not ask for one (set grpc.tls.clientCaFile and clientAuth optional or require)`,
            path: ['identities', i, 'match', field],
          });
        }
      }
    });
  });

export type HubConfig = z.output<typeof hubConfigSchema>;

/**
 * `database.url`, or the URL `database.urlEnv` / `database.urlFile` name (at most one of the three), or the
 * embedded default; a problem names the key to fix and never the URL (it may hold a password).
 */
function resolveDatabaseUrl(keys: { url?: string; urlEnv?: string; urlFile?: string }): { url: string; key: string } | { problem: string; key: string } {
  const given = (['url', 'urlEnv', 'urlFile'] as const).filter((key) => keys[key] !== undefined);
  if (given.length > 1) return { key: given[1]!, problem: `set only one of database.${given.join(', database.')}` };
  if (keys.urlEnv !== undefined) {
    const value = process.env[keys.urlEnv]?.trim();
    if (value === undefined || value === '') return { key: 'urlEnv', problem: `the environment variable ${keys.urlEnv} is not set or empty` };
    return { key: 'urlEnv', url: value };
  }
  if (keys.urlFile !== undefined) {
    let value: string;
    try {
      value = readFileSync(keys.urlFile, 'utf8').trim();
    } catch (err) {
      return { key: 'urlFile', problem: `cannot read ${keys.urlFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
    }
    if (value === '') return { key: 'urlFile', problem: `${keys.urlFile} is empty` };
    return { key: 'urlFile', url: value };
  }
  return { key: 'url', url: keys.url ?? DEFAULT_DATABASE_URL };
}

/**
 * What the gRPC port needs before the hub serves agents, checked when the hub starts (not by the schema,
 * so that a configuration can be parsed for other uses): TLS or an explicit `grpc.insecure: true`, and
 * `identities` or an explicit `grpc.allowAnyIdentity: true`. Nothing is open by default.
 */
export function grpcSecurityProblems(config: HubConfig): string[] {
  const problems: string[] = [];
  if (!config.grpc.insecure && config.grpc.tls === undefined) {
    problems.push('grpc.tls: set grpc.tls.certFile and grpc.tls.keyFile for TLS, or grpc.insecure: true for plaintext (see docs/security.md)');
  }
  if (config.identities.length === 0 && !config.grpc.allowAnyIdentity) {
    problems.push(
      'identities: none configured, so no agent could register an account: list identities (see docs/security.md) or set grpc.allowAnyIdentity: true to admit any agent',
    );
  }
  return problems;
}
