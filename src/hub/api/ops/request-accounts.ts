import type { TaskRecord } from '../../store/types.ts';
import { parseOps } from './parse-request.ts';

/** The accounts an /ops body acts on; throws REQUEST_INVALID (400) for a malformed body, as the ops route would. */
export function requestAccounts(body: unknown): string[] {
  return [...new Set(parseOps(body).map((op) => op.parsed.account))];
}

/** The accounts a task acts on: those of its stored request, else its account column; undefined when unknown. */
export function taskAccounts(task: Pick<TaskRecord, 'request' | 'account'>): string[] | undefined {
  try {
    const accounts = requestAccounts(task.request);
    if (accounts.length > 0) return accounts;
  } catch {
    // A request that no longer parses: fall back to the account column.
  }
  return task.account === null ? undefined : [task.account];
}
