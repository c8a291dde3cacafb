import { hostname } from 'node:os';
import { z } from 'zod';
import { loggingSchema } from '../common/logging-config.ts';
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
/** Armory's accountCleanupFrequencySeconds: a disconnected account stays this long before removal. */
export const DEFAULT_ACCOUNT_GRACE_SECONDS = 600;

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
        /** Identifies this replica in task owners and account assignments. */
        id: z.string().min(1).default(hostname()),
      })
      .strict()
      .prefault({}),
    server: listenSchema(DEFAULT_REST_PORT).prefault({}),
    grpc: listenSchema(DEFAULT_GRPC_PORT)
      .extend({
        pingIntervalMs: z.number().int().min(100).default(DEFAULT_PING_INTERVAL_MS),
        /** A session silent for this many ping intervals is closed. */
        missedPingsBeforeDead: z.number().int().min(2).default(3),
      })
      .strict()
      .prefault({}),
    database: z
      .object({
        /**
         * `sqlite:<file>` (embedded default), `sqlite::memory:`, `postgres://user:password@host:5432/db`
         * (or postgresql://) or `mysql://user:password@host:3306/db` (or mariadb://).
         */
        url: z
          .string()
          .min(1)
          .default('sqlite:.scale-agent/hub.db')
          .superRefine((url, ctx) => {
            const problem = databaseUrlProblem(url);
            if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
          }),
        /** Connections to PostgreSQL or MySQL per hub replica (SQLite uses one). */
        poolSize: z.number().int().min(1).max(1000).default(DEFAULT_POOL_SIZE),
        /** How long opening one connection may take before the start fails. */
        connectTimeoutMs: z.number().int().min(100).default(DEFAULT_CONNECT_TIMEOUT_MS),
      })
      .strict()
      .prefault({}),
    operations: z
      .object({
        /** Deadline of one hub→agent operation (a delete's grace period is added to it). */
        timeoutMs: z.number().int().min(100).default(DEFAULT_OPERATION_TIMEOUT_MS),
        /** A STARTED task no replica updated for this long is failed as orphaned (its replica died). */
        taskStaleAfterMs: z.number().int().min(1000).default(DEFAULT_TASK_STALE_AFTER_MS),
      })
      .strict()
      .prefault({}),
    accounts: z
      .object({
        gracePeriodSeconds: z.number().int().min(0).default(DEFAULT_ACCOUNT_GRACE_SECONDS),
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
    logging: loggingSchema,
  })
  .strict();

export type HubConfig = z.output<typeof hubConfigSchema>;
