import type { KubeObject } from '../common/kube-object.ts';
import { isPlainObject } from './patch/merge-patch.ts';
import { badRequest, invalid } from './status.ts';

/**
 * Pod logs (`GET /api/v1/namespaces/{ns}/pods/{name}/log`). The sim runs no processes, so each
 * container's log is text generated from the pod's state — the same pod state always gives the same
 * lines, each stamped with a time taken from the container's status:
 *
 *     [sim] starting container main (image nginx:1.27) in pod default/web-7c9f-x2x4q on node sim-node-1
 *     [sim] command: perl -Mbignum=bpi -wle print bpi(20)          (only when command/args are set)
 *     <lines of the pod annotation sim.scale-agent.io/log, then of sim.scale-agent.io/log.<container>>
 *     [sim] container main is running (ports 8080/TCP)             (a running container)
 *     [sim] container main terminated: Completed (exit code 0)     (a terminated container)
 *     [sim] job pi completed successfully                           (a Job's pod that succeeded)
 *     [sim] job pi failed: exit code 1                              (a Job's pod that failed)
 *     [sim] received SIGTERM, shutting down (grace period 30s)      (a running container being deleted)
 *
 * Query parameters as the real API server takes them: `container` (required when the pod has more than
 * one), `tailLines`, `sinceSeconds` or `sinceTime`, `timestamps` (RFC 3339 with nanoseconds before each
 * line), `limitBytes`, `previous` (the sim never restarts containers, so always 400) and `follow`.
 */
type Obj = Record<string, unknown>;

/** Pod annotation whose text (one line per line) every container of the pod writes after starting. */
export const LOG_ANNOTATION = 'sim.scale-agent.io/log';
/** Per container: `sim.scale-agent.io/log.<container>`. */
export const CONTAINER_LOG_ANNOTATION_PREFIX = `${LOG_ANNOTATION}.`;
const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
const MS_PER_SECOND = 1000;
/** toISOString has milliseconds; the kubelet writes nanoseconds. */
const SUB_MILLISECOND_DIGITS = '000000';

export interface LogLine {
  /** Milliseconds since the epoch; lines of one container are strictly increasing. */
  time: number;
  text: string;
}

export interface LogOptions {
  container?: string;
  tailLines?: number;
  sinceSeconds?: number;
  sinceTime?: string;
  timestamps: boolean;
  limitBytes?: number;
  previous: boolean;
  follow: boolean;
}

export interface ContainerLog {
  container: string;
  lines: LogLine[];
  /** The container has terminated (or its pod is terminating): nothing more will be written. */
  finished: boolean;
}

function int(query: URLSearchParams, name: string, min: number): number | undefined {
  const value = query.get(name);
  if (value === null || value === '') return undefined;
  if (!/^-?\d+$/.test(value)) throw badRequest(`invalid value for ${name}: "${value}" is not an integer`);
  const n = Number(value);
  if (n < min)
    throw invalid('', 'PodLogOptions', '', [
      { reason: 'FieldValueInvalid', message: `Invalid value: ${n}: must be greater than${min === 0 ? ' or equal to 0' : ' 0'}`, field: name },
    ]);
  return n;
}

function bool(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  return value === 'true' || value === '1';
}

export function logOptionsFrom(query: URLSearchParams): LogOptions {
  const options: LogOptions = { timestamps: bool(query, 'timestamps'), previous: bool(query, 'previous'), follow: bool(query, 'follow') };
  const container = query.get('container');
  if (container !== null && container !== '') options.container = container;
  const tailLines = int(query, 'tailLines', 0);
  if (tailLines !== undefined) options.tailLines = tailLines;
  const sinceSeconds = int(query, 'sinceSeconds', 1);
  if (sinceSeconds !== undefined) options.sinceSeconds = sinceSeconds;
  const limitBytes = int(query, 'limitBytes', 1);
  if (limitBytes !== undefined) options.limitBytes = limitBytes;
  const sinceTime = query.get('sinceTime');
  if (sinceTime !== null && sinceTime !== '') {
    if (Number.isNaN(Date.parse(sinceTime))) throw badRequest(`invalid value for sinceTime: "${sinceTime}" is not an RFC 3339 time`);
    options.sinceTime = sinceTime;
  }
  if (options.sinceSeconds !== undefined && options.sinceTime !== undefined) {
    throw invalid('', 'PodLogOptions', '', [
      { reason: 'FieldValueForbidden', message: 'Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified', field: 'sinceSeconds' },
    ]);
  }
  return options;
}

function containersOf(pod: KubeObject, field: 'containers' | 'initContainers'): Obj[] {
  const list = (pod.spec as Obj | undefined)?.[field];
  return Array.isArray(list) ? list.filter(isPlainObject) : [];
}

/** The container a log request reads: the one named, or the pod's only container; 400 otherwise, worded as the real server. */
export function resolveContainer(pod: KubeObject, requested: string | undefined): { spec: Obj; init: boolean } {
  const podName = pod.metadata?.name ?? '';
  const containers = containersOf(pod, 'containers');
  const inits = containersOf(pod, 'initContainers');
  if (requested === undefined) {
    if (containers.length === 1) return { spec: containers[0]!, init: false };
    const names = containers.map((c) => String(c.name)).join(' ');
    const initNames = inits.map((c) => String(c.name)).join(' ');
    throw badRequest(
      `a container name must be specified for pod ${podName}, choose one of: [${names}]${inits.length > 0 ? ` or one of the init containers: [${initNames}]` : ''}`,
    );
  }
  const found = containers.find((c) => c.name === requested);
  if (found !== undefined) return { spec: found, init: false };
  const init = inits.find((c) => c.name === requested);
  if (init !== undefined) return { spec: init, init: true };
  throw badRequest(`container ${requested} is not valid for pod ${podName}`);
}

function timeOf(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

function annotationLines(value: string | undefined): string[] {
  if (value === undefined || value === '') return [];
  return value.replace(/\n$/, '').split('\n');
}

/** The log of one container as the pod's current state implies; throws 400 while the container has not started. */
export function containerLog(pod: KubeObject, requested: string | undefined): ContainerLog {
  const { spec: container, init } = resolveContainer(pod, requested);
  const name = String(container.name);
  const podName = pod.metadata?.name ?? '';
  const status = (pod.status ?? {}) as Obj;
  const statuses = (init ? status.initContainerStatuses : status.containerStatuses) as Obj[] | undefined;
  const containerStatus = Array.isArray(statuses) ? statuses.find((s) => s.name === name) : undefined;
  const state = (containerStatus?.state ?? {}) as Obj;
  const running = state.running as Obj | undefined;
  let terminated = state.terminated as Obj | undefined;
  const podStart = timeOf(status.startTime);
  if (init && containerStatus === undefined && podStart !== undefined) {
    // The simulated kubelet reports no init containers; they ran to completion before the pod started.
    terminated = { exitCode: 0, reason: 'Completed', startedAt: status.startTime, finishedAt: status.startTime };
  }
  const started = timeOf(running?.startedAt) ?? timeOf(terminated?.startedAt);
  if (started === undefined) {
    const waiting = (state.waiting as Obj | undefined)?.reason;
    throw badRequest(`container "${name}" in pod "${podName}" is waiting to start: ${typeof waiting === 'string' ? waiting : 'ContainerCreating'}`);
  }
  const texts: Array<{ at: number; text: string }> = [];
  const add = (at: number, text: string) => texts.push({ at, text });
  add(
    started,
    `[sim] starting container ${name} (image ${String(container.image ?? '')}) in pod ${pod.metadata?.namespace ?? ''}/${podName} on node ${String((pod.spec as Obj | undefined)?.nodeName ?? '')}`,
  );
  const argv = [...(Array.isArray(container.command) ? container.command : []), ...(Array.isArray(container.args) ? container.args : [])].map(String);
  if (argv.length > 0) add(started, `[sim] command: ${argv.join(' ')}`);
  const annotations = pod.metadata?.annotations ?? {};
  for (const line of [...annotationLines(annotations[LOG_ANNOTATION]), ...annotationLines(annotations[CONTAINER_LOG_ANNOTATION_PREFIX + name])])
    add(started, line);
  let finished = false;
  if (terminated !== undefined) {
    const end = timeOf(terminated.finishedAt) ?? started;
    const exitCode = Number(terminated.exitCode ?? 0);
    add(end, `[sim] container ${name} terminated: ${String(terminated.reason ?? (exitCode === 0 ? 'Completed' : 'Error'))} (exit code ${exitCode})`);
    const job = pod.metadata?.labels?.[JOB_NAME_LABEL] ?? pod.metadata?.ownerReferences?.find((o) => o.kind === 'Job' && o.controller === true)?.name;
    if (job !== undefined && !init) add(end, exitCode === 0 ? `[sim] job ${job} completed successfully` : `[sim] job ${job} failed: exit code ${exitCode}`);
    finished = true;
  } else {
    const ports = (Array.isArray(container.ports) ? container.ports : [])
      .filter(isPlainObject)
      .map((p) => `${String(p.containerPort)}/${String(p.protocol ?? 'TCP')}`);
    add(started, `[sim] container ${name} is running${ports.length > 0 ? ` (ports ${ports.join(', ')})` : ''}`);
    const deletion = timeOf(pod.metadata?.deletionTimestamp);
    if (deletion !== undefined) {
      const grace = Number(pod.metadata?.deletionGracePeriodSeconds ?? 0);
      add(deletion - grace * MS_PER_SECOND, `[sim] received SIGTERM, shutting down (grace period ${grace}s)`);
      finished = true;
    }
  }
  // Equal or backwards times (second-precision statuses) are spread 1 ms apart so order and filters agree.
  const lines: LogLine[] = [];
  for (const { at, text } of texts) {
    const previous = lines[lines.length - 1]?.time;
    lines.push({ time: previous !== undefined && at <= previous ? previous + 1 : at, text });
  }
  return { container: name, lines, finished };
}

/** RFC 3339 with nine fractional digits, as the kubelet prefixes lines with `timestamps=true`. */
export function logTimestamp(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, -1)}${SUB_MILLISECOND_DIGITS}Z`;
}

/** The lines the options select (since, then tail), each rendered with its newline. */
export function selectLines(lines: LogLine[], options: LogOptions, now: number): string[] {
  let selected = lines;
  const since =
    options.sinceSeconds !== undefined
      ? now - options.sinceSeconds * MS_PER_SECOND
      : options.sinceTime !== undefined
        ? Date.parse(options.sinceTime)
        : undefined;
  if (since !== undefined) selected = selected.filter((l) => l.time >= since);
  if (options.tailLines !== undefined) selected = options.tailLines === 0 ? [] : selected.slice(-options.tailLines);
  return selected.map((l) => renderLine(l, options));
}

export function renderLine(line: LogLine, options: Pick<LogOptions, 'timestamps'>): string {
  return `${options.timestamps ? `${logTimestamp(line.time)} ` : ''}${line.text}\n`;
}

/** Applies limitBytes to text already written (`sent` bytes) plus `next`; returns what may still go out. */
export function withinLimit(next: string, sent: number, limitBytes: number | undefined): string {
  if (limitBytes === undefined) return next;
  const room = limitBytes - sent;
  if (room <= 0) return '';
  const bytes = Buffer.from(next, 'utf8');
  return bytes.length <= room ? next : bytes.subarray(0, room).toString('utf8');
}
