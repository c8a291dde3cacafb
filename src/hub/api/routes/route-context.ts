import type { Logger } from '../../../common/logger.ts';
import type { OperationRouter } from '../../router/types.ts';
import type { Store } from '../../store/types.ts';
import type { TaskRunner } from '../ops/task-runner.ts';

/** What every route module gets from buildApiServer. */
export interface RouteContext {
  store: Store;
  router: OperationRouter;
  hubId: string;
  logger: Logger;
  tasks: TaskRunner;
}

export type Query = Record<string, string | undefined>;

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
