import type { KubeObject } from '../../../common/kube-object.ts';
import { fullResourceName } from '../../store/kind-names.ts';

/**
 * Run Job status the way Clouddriver's KubernetesJobProvider builds it (`KubernetesJobStatus`): what
 * Orca's WaitOnJobCompletion polls (`jobState`, `completionDetails`, `pods[].status.phase`, and the
 * failure fields it shows). Null fields are omitted, as Clouddriver's mapper does.
 */
export type JobState = 'Running' | 'Succeeded' | 'Failed';

export interface JobPodStatus {
  name: string;
  status?: unknown;
}

export interface JobStatusView {
  name: string;
  account: string;
  id: string;
  location: string;
  provider: 'kubernetes';
  createdTime?: number;
  completedTime?: number;
  message?: string;
  reason?: string;
  failureDetails?: string;
  pods: JobPodStatus[];
  mostRecentPodName?: string;
  completionDetails: { exitCode: string; signal: string; message: string; reason: string };
  jobState: JobState;
}

type Obj = Record<string, unknown>;

function obj(value: unknown): Obj | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Obj) : undefined;
}

function list(value: unknown): Obj[] {
  return Array.isArray(value) ? value.map(obj).filter((v): v is Obj => v !== undefined) : [];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function millis(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

function eq(a: unknown, b: string): boolean {
  return typeof a === 'string' && a.toLowerCase() === b.toLowerCase();
}

function failedCondition(job: KubeObject): Obj | undefined {
  return list(obj(job.status)?.conditions).find((c) => eq(c.type, 'Failed') && eq(c.status, 'True'));
}

export function jobState(job: KubeObject): JobState {
  const status = obj(job.status);
  if (!status) return 'Running';
  const completions = obj(job.spec)?.completions;
  const wanted = typeof completions === 'number' ? completions : 1;
  const succeeded = typeof status.succeeded === 'number' ? status.succeeded : 0;
  if (succeeded < wanted) return failedCondition(job) ? 'Failed' : 'Running';
  return 'Succeeded';
}

/** Pods by start time, oldest first; a pod not started yet counts as starting now (Clouddriver's order). */
export function sortPodsByStart(pods: readonly KubeObject[], now = Date.now()): KubeObject[] {
  const start = (p: KubeObject) => millis(obj(p.status)?.startTime) ?? now;
  return [...pods].sort((a, b) => start(a) - start(b) || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

/** Java's String.format renders null as "null"; the failure text keeps that. */
function text(value: unknown): string {
  return value === undefined || value === null ? 'null' : String(value);
}

/**
 * The first container (init containers first) that terminated with a non-zero exit code, else the first
 * one waiting, in the first pod that has one: Clouddriver's `captureFailureDetails`.
 */
function failureDetails(pods: readonly KubeObject[]): string | undefined {
  for (const pod of pods) {
    const status = obj(pod.status);
    const containers = [...list(status?.initContainerStatuses), ...list(status?.containerStatuses)].filter((c) => obj(c.state) !== undefined);
    const terminated = containers.find((c) => {
      const t = obj(obj(c.state)?.terminated);
      return t !== undefined && t.exitCode !== undefined && t.exitCode !== null && String(t.exitCode) !== '0';
    });
    const failed = terminated ?? containers.find((c) => obj(obj(c.state)?.terminated) === undefined && obj(obj(c.state)?.waiting) !== undefined);
    if (!failed) continue;
    const state = obj(failed.state)!;
    const terminatedState = obj(state.terminated);
    const detail = terminatedState ?? obj(state.waiting)!;
    const exitCode = terminatedState
      ? terminatedState.exitCode === undefined || terminatedState.exitCode === null
        ? ''
        : String(terminatedState.exitCode)
      : '';
    return `Pod: '${text(pod.metadata?.name)}' had errors.\n Container: '${text(failed.name)}' exited with code: ${exitCode}.\n Status: ${text(detail.reason)}.\n Logs: ${text(detail.message)}`;
  }
  return undefined;
}

export function jobStatusView(account: string, job: KubeObject, pods: readonly KubeObject[], now = Date.now()): JobStatusView {
  const name = job.metadata?.name ?? '';
  const sorted = sortPodsByStart(pods, now);
  const state = jobState(job);
  const view: JobStatusView = {
    name,
    account,
    id: fullResourceName('batch', 'Job', name),
    location: job.metadata?.namespace ?? '',
    provider: 'kubernetes',
    pods: sorted.map((p) => {
      const pod: JobPodStatus = { name: p.metadata?.name ?? '' };
      if (p.status !== undefined && p.status !== null) pod.status = p.status;
      return pod;
    }),
    completionDetails: { exitCode: '', signal: '', message: '', reason: '' },
    jobState: state,
  };
  const created = millis(job.metadata?.creationTimestamp);
  if (created !== undefined) view.createdTime = created;
  const completed = millis(obj(job.status)?.completionTime);
  if (completed !== undefined) view.completedTime = completed;
  const last = sorted[sorted.length - 1];
  if (last?.metadata?.name !== undefined) view.mostRecentPodName = last.metadata.name;
  if (state === 'Failed') {
    const condition = failedCondition(job);
    const message = str(condition?.message);
    const reason = str(condition?.reason);
    if (message !== undefined) view.message = view.completionDetails.message = message;
    if (reason !== undefined) view.reason = view.completionDetails.reason = reason;
    const details = failureDetails(sorted);
    if (details !== undefined) view.failureDetails = details;
  }
  return view;
}

/** The pod whose log holds a job's property file: the latest that succeeded, else the latest. */
export function propertyPod(pods: readonly KubeObject[], now = Date.now()): KubeObject | undefined {
  const sorted = sortPodsByStart(pods, now);
  const succeeded = sorted.filter((p) => obj(p.status)?.phase === 'Succeeded');
  return succeeded[succeeded.length - 1] ?? sorted[sorted.length - 1];
}

const PROPERTY_MARK = 'SPINNAKER_PROPERTY_';
const JSON_MARK = 'SPINNAKER_CONFIG_JSON=';
const JSON_LINE = /^\s*SPINNAKER_CONFIG_JSON=/;

/**
 * Clouddriver's PropertyParser: `SPINNAKER_PROPERTY_<KEY>=<value>` lines (key lower-cased, value up to
 * the next "=", trimmed) and `SPINNAKER_CONFIG_JSON=<object>` lines (merged in). Malformed JSON makes
 * the whole file unreadable (undefined), as Clouddriver's parse error does.
 */
export function parseProperties(log: string): Record<string, unknown> | undefined {
  const properties: Record<string, unknown> = {};
  for (const line of log.split('\n')) {
    if (line.includes(PROPERTY_MARK)) {
      const pieces = line.split('=');
      const key = (pieces[0] ?? '').replace(PROPERTY_MARK, '').toLowerCase();
      properties[key] = (pieces[1] ?? '').trim();
    }
    if (JSON_LINE.test(line)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line.replace(JSON_MARK, ''));
      } catch {
        return undefined;
      }
      const map = obj(parsed);
      if (!map) return undefined;
      Object.assign(properties, map);
    }
  }
  return properties;
}
