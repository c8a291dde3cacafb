import type { TaskRecord } from '../../store/types.ts';

/** A task as Clouddriver's GET /task/{id} shows it (null fields omitted). */
export interface TaskView {
  id: string;
  requestId?: string;
  ownerId: string;
  startTimeMs: number;
  status: { phase: string; status: string; complete: boolean; completed: boolean; failed: boolean; retryable: boolean };
  history: Array<{ phase: string; status: string }>;
  resultObjects: unknown[];
  /** kubectl output per manifest in Clouddriver when persistTaskOutput is on; always empty here. */
  outputs: unknown[];
  sagaIds: string[];
  retryable: boolean;
}

export function taskView(task: TaskRecord): TaskView {
  const last = task.history[task.history.length - 1] ?? { phase: 'ORCHESTRATION', status: 'Initializing Orchestration Task' };
  const completed = task.state !== 'STARTED';
  const failed = task.state === 'FAILED' || task.state === 'FAILED_RETRYABLE';
  const retryable = task.state === 'FAILED_RETRYABLE';
  const view: TaskView = {
    id: task.id,
    ownerId: task.ownerHubId,
    startTimeMs: task.createdAt,
    status: { phase: last.phase, status: last.status, complete: completed, completed, failed, retryable },
    history: task.history.map((h) => ({ phase: h.phase, status: h.status })),
    resultObjects: task.resultObjects,
    outputs: [],
    sagaIds: [],
    retryable,
  };
  if (task.requestId !== null) view.requestId = task.requestId;
  return view;
}
