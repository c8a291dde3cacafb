import type { Logger } from '../../../common/logger.ts';
import type { DefinitionService } from '../../definitions/definition-service.ts';
import type { RouteAuth } from '../../auth/rest-auth.ts';
import type { OperationRouter } from '../../router/types.ts';
import type { ReplicaStatus } from '../../replicas/replica-liveness.ts';
import type { AssignmentStore, StoreHealth, StoreReader } from '../../store/types.ts';
import type { ViewLoader } from '../../views/loader.ts';
import type { TaskRunner } from '../ops/task-runner.ts';
import type { ProjectSource } from '../projects/front50-client.ts';

/** The replicas sharing the hub's database (src/hub/replicas/replica-presence.ts). */
export interface ReplicaListing {
  list(): Promise<ReplicaStatus[]>;
}

/** One agent session of this replica, as the status page lists it (src/hub/grpc/session-summaries.ts fills it). */
export interface AgentSessionView {
  sessionId: string;
  agentId: string;
  agentVersion: string;
  /** The wire protocol version the session speaks. */
  protocolVersion: number;
  peer: string;
  zoneId: string;
  connectedAt: number;
  lastMessageAt: number;
  accounts: string[];
  caching: string[];
  unreachable: Array<{ account: string; reason: string }>;
  refused: Array<{ account: string; code: string; message: string }>;
  pendingOperations: number;
}

/** The agent sessions this replica holds (the status page); the hub gives it. */
export interface SessionListing {
  list(): AgentSessionView[];
}

/** What every route module gets from buildApiServer. */
export interface RouteContext {
  /**
   * What the routes read (through AuthorizedStore while REST authorization is installed). They write
   * nothing themselves: tasks and their operations are written by `tasks`, after the WRITE checks.
   */
  store: StoreReader;
  /** The database check of GET /health. */
  health: StoreHealth;
  /** The hub replicas GET /health lists, when the hub gives them. */
  replicas?: ReplicaListing;
  /** This replica's agent sessions (the status page), when the hub gives them. */
  sessions?: SessionListing;
  /** Who caches which account across the replicas (GET /admin/replicas), when the hub gives them. */
  assignments?: Pick<AssignmentStore, 'listAssignments'>;
  router: OperationRouter;
  hubId: string;
  logger: Logger;
  tasks: TaskRunner;
  /** WRITE checks before acting (REST authorization; allows everything while auth is off). */
  auth: RouteAuth;
  /** Dynamic account definitions (/admin/accounts, Clouddriver's Account Management), when the hub manages them. */
  definitions?: DefinitionService;
  /**
   * The application views' reads over `store`: one per server, so the resources it derives (by object
   * version) are shared by every request and every view route family.
   */
  views: ViewLoader;
  /** Where GET /projects/{project}/clusters reads projects (front50.baseUrl); without it the hub knows no projects. */
  front50?: ProjectSource;
}

export type Query = Record<string, string | undefined>;

/**
 * The query string the way Spring binds it to String parameters: a repeated parameter
 * (`?expand=true&expand=false`, `?ids=a&ids=b`) arrives as one comma-joined value, so list parameters
 * keep every value (they are split on commas) and nothing that expects a string ever sees an array.
 */
export function queryOf(raw: unknown): Query {
  const out: Query = {};
  if (typeof raw !== 'object' || raw === null) return out;
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof value === 'string') out[key] = value;
    else if (Array.isArray(value)) out[key] = value.filter((v): v is string => typeof v === 'string').join(',');
  }
  return out;
}

/** Spring's boolean request parameters: "true"/"false", anything else is the default. */
export function booleanParam(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  const lower = value.toLowerCase();
  return lower === 'true' ? true : lower === 'false' ? false : fallback;
}

export function limitParam(value: string | undefined, fallback: number, max: number): number {
  const n = value === undefined ? NaN : Number(value);
  return Number.isInteger(n) && n > 0 ? Math.min(n, max) : fallback;
}
