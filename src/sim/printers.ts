import type { KubeObject } from '../common/kube-object.ts';
import type { ColumnType, PrinterColumn, ResourceType } from './resource-type.ts';
import { scaleSelector } from './scale.ts';

/**
 * Server-side printing: the columns and cells of the `Table` the real API server returns to
 * `kubectl get` (which asks for `application/json;as=Table;v=v1;g=meta.k8s.io`), so kubectl shows the
 * familiar READY / STATUS / AGE columns. Built-in kinds follow pkg/printers/internalversion of a v1.31
 * server (simplified where the sim's objects never carry the rarer fields); kinds without a printer get the
 * default Name / Created At columns; custom resources get their CRD's additionalPrinterColumns (Name and
 * Age when it declares none), with the simple JSONPath those columns use.
 */
export interface TableColumnDefinition {
  name: string;
  type: ColumnType;
  format: string;
  description: string;
  /** 0: always shown; 1 and up: only with `-o wide`. */
  priority: number;
}

type Obj = Record<string, unknown>;
type Cell = string | number | boolean | null;

interface Printer {
  columns: TableColumnDefinition[];
  cells(object: KubeObject, now: number): Cell[];
}

const NAME_DESCRIPTION =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';
const CREATION_DESCRIPTION =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';
const NONE = '<none>';

/** A column; `wide` columns have priority 1 (shown by `-o wide` only). */
function col(name: string, type: ColumnType = 'string', wide = false, description = ''): TableColumnDefinition {
  return {
    name,
    type,
    format: name === 'Name' ? 'name' : '',
    description: name === 'Name' ? NAME_DESCRIPTION : name === 'Age' || name === 'Created At' ? CREATION_DESCRIPTION : description,
    priority: wide ? 1 : 0,
  };
}

// ---- value helpers ----

const obj = (value: unknown): Obj => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Obj) : {});
const arr = (value: unknown): Obj[] => (Array.isArray(value) ? (value as unknown[]).map(obj) : []);
const num = (value: unknown): number => (typeof value === 'number' ? value : 0);
const str = (value: unknown): string => (typeof value === 'string' ? value : '');
const spec = (o: KubeObject): Obj => obj(o.spec);
const status = (o: KubeObject): Obj => obj(o.status);
const orNone = (text: string): string => (text === '' ? NONE : text);

/** k8s.io/apimachinery/pkg/util/duration.HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365;
    return days === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${days}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

/** translateTimestampSince: the age of an RFC 3339 timestamp, `<unknown>` when absent. */
export function since(timestamp: unknown, now: number): string {
  const at = typeof timestamp === 'string' ? Date.parse(timestamp) : NaN;
  return Number.isNaN(at) ? '<unknown>' : humanDuration(now - at);
}

const age = (o: KubeObject, now: number): string => since(o.metadata?.creationTimestamp, now);

/** metav1.FormatLabelSelector. */
function selectorText(selector: unknown): string {
  return orNone(scaleSelector(selector));
}

/** labels.FormatLabels: `k=v` pairs sorted by key. */
function labelsText(labels: unknown): string {
  const entries = Object.entries(obj(labels)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return orNone(entries.map(([k, v]) => `${k}=${String(v)}`).join(','));
}

function podTemplateSpec(o: KubeObject): Obj {
  return obj(obj(spec(o).template).spec);
}

function containerNames(podSpec: Obj): string {
  return arr(podSpec.containers)
    .map((c) => str(c.name))
    .join(',');
}

function containerImages(podSpec: Obj): string {
  return arr(podSpec.containers)
    .map((c) => str(c.image))
    .join(',');
}

// ---- per-kind printers ----

function podStatusText(pod: KubeObject): string {
  const st = status(pod);
  let reason = str(st.reason) || str(st.phase);
  const initStatuses = arr(st.initContainerStatuses);
  const initCount = arr(spec(pod).initContainers).length;
  let initializing = false;
  for (const [i, c] of initStatuses.entries()) {
    const state = obj(c.state);
    const terminated = obj(state.terminated);
    const waiting = obj(state.waiting);
    if (state.terminated !== undefined && num(terminated.exitCode) === 0) continue;
    if (state.terminated !== undefined) {
      reason = str(terminated.reason) !== '' ? `Init:${str(terminated.reason)}` : `Init:ExitCode:${num(terminated.exitCode)}`;
    } else if (str(waiting.reason) !== '' && waiting.reason !== 'PodInitializing') {
      reason = `Init:${str(waiting.reason)}`;
    } else if (state.running !== undefined && c.started === true) {
      continue; // a started sidecar (restartable init container)
    } else {
      reason = `Init:${i}/${initCount}`;
    }
    initializing = true;
    break;
  }
  if (!initializing) {
    let hasRunning = false;
    for (const c of [...arr(st.containerStatuses)].reverse()) {
      const state = obj(c.state);
      const waiting = obj(state.waiting);
      const terminated = obj(state.terminated);
      if (str(waiting.reason) !== '') reason = str(waiting.reason);
      else if (str(terminated.reason) !== '') reason = str(terminated.reason);
      else if (state.terminated !== undefined)
        reason = num(terminated.signal) !== 0 ? `Signal:${num(terminated.signal)}` : `ExitCode:${num(terminated.exitCode)}`;
      else if (c.ready === true && state.running !== undefined) hasRunning = true;
    }
    if (reason === 'Completed' && hasRunning) {
      const ready = arr(st.conditions).some((c) => c.type === 'Ready' && c.status === 'True');
      reason = ready ? 'Running' : 'NotReady';
    }
  }
  if (pod.metadata?.deletionTimestamp !== undefined) reason = st.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

function podRestarts(pod: KubeObject, now: number): string {
  let restarts = 0;
  let last: string | undefined;
  for (const c of [...arr(status(pod).initContainerStatuses), ...arr(status(pod).containerStatuses)]) {
    restarts += num(c.restartCount);
    const finished = str(obj(obj(c.lastState).terminated).finishedAt);
    if (finished !== '' && (last === undefined || finished > last)) last = finished;
  }
  return last === undefined ? String(restarts) : `${restarts} (${since(last, now)} ago)`;
}

const pod: Printer = {
  columns: [
    col('Name'),
    col('Ready'),
    col('Status'),
    col('Restarts'),
    col('Age'),
    col('IP', 'string', true),
    col('Node', 'string', true),
    col('Nominated Node', 'string', true),
    col('Readiness Gates', 'string', true),
  ],
  cells(o, now) {
    const st = status(o);
    const total = arr(spec(o).containers).length;
    const ready = arr(st.containerStatuses).filter((c) => c.ready === true).length;
    const gates = arr(spec(o).readinessGates);
    const gatesText =
      gates.length === 0
        ? NONE
        : `${gates.filter((g) => arr(st.conditions).some((c) => c.type === g.conditionType && c.status === 'True')).length}/${gates.length}`;
    return [
      o.metadata?.name ?? '',
      `${ready}/${total}`,
      podStatusText(o),
      podRestarts(o, now),
      age(o, now),
      orNone(str(st.podIP)),
      orNone(str(spec(o).nodeName)),
      orNone(str(st.nominatedNodeName)),
      gatesText,
    ];
  },
};

const deployment: Printer = {
  columns: [
    col('Name'),
    col('Ready'),
    col('Up-to-date', 'integer'),
    col('Available', 'integer'),
    col('Age'),
    col('Containers', 'string', true),
    col('Images', 'string', true),
    col('Selector', 'string', true),
  ],
  cells(o, now) {
    const st = status(o);
    return [
      o.metadata?.name ?? '',
      `${num(st.readyReplicas)}/${num(spec(o).replicas)}`,
      num(st.updatedReplicas),
      num(st.availableReplicas),
      age(o, now),
      containerNames(podTemplateSpec(o)),
      containerImages(podTemplateSpec(o)),
      selectorText(spec(o).selector),
    ];
  },
};

const replicaSet: Printer = {
  columns: [
    col('Name'),
    col('Desired', 'integer'),
    col('Current', 'integer'),
    col('Ready', 'integer'),
    col('Age'),
    col('Containers', 'string', true),
    col('Images', 'string', true),
    col('Selector', 'string', true),
  ],
  cells(o, now) {
    const st = status(o);
    return [
      o.metadata?.name ?? '',
      num(spec(o).replicas),
      num(st.replicas),
      num(st.readyReplicas),
      age(o, now),
      containerNames(podTemplateSpec(o)),
      containerImages(podTemplateSpec(o)),
      selectorText(spec(o).selector),
    ];
  },
};

const statefulSet: Printer = {
  columns: [col('Name'), col('Ready'), col('Age'), col('Containers', 'string', true), col('Images', 'string', true)],
  cells(o, now) {
    return [
      o.metadata?.name ?? '',
      `${num(status(o).readyReplicas)}/${num(spec(o).replicas)}`,
      age(o, now),
      containerNames(podTemplateSpec(o)),
      containerImages(podTemplateSpec(o)),
    ];
  },
};

const daemonSet: Printer = {
  columns: [
    col('Name'),
    col('Desired', 'integer'),
    col('Current', 'integer'),
    col('Ready', 'integer'),
    col('Up-to-date', 'integer'),
    col('Available', 'integer'),
    col('Node Selector'),
    col('Age'),
    col('Containers', 'string', true),
    col('Images', 'string', true),
    col('Selector', 'string', true),
  ],
  cells(o, now) {
    const st = status(o);
    return [
      o.metadata?.name ?? '',
      num(st.desiredNumberScheduled),
      num(st.currentNumberScheduled),
      num(st.numberReady),
      num(st.updatedNumberScheduled),
      num(st.numberAvailable),
      labelsText(podTemplateSpec(o).nodeSelector),
      age(o, now),
      containerNames(podTemplateSpec(o)),
      containerImages(podTemplateSpec(o)),
      selectorText(spec(o).selector),
    ];
  },
};

function jobStatusText(job: KubeObject): string {
  const conditions = arr(status(job).conditions).filter((c) => c.status === 'True');
  const has = (type: string): boolean => conditions.some((c) => c.type === type);
  if (has('Complete')) return 'Complete';
  if (has('Failed')) return 'Failed';
  if (job.metadata?.deletionTimestamp !== undefined) return 'Terminating';
  if (has('FailureTarget')) return 'FailureTarget';
  if (has('SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  if (has('Suspended')) return 'Suspended';
  return 'Running';
}

const job: Printer = {
  columns: [
    col('Name'),
    col('Status'),
    col('Completions'),
    col('Duration'),
    col('Age'),
    col('Containers', 'string', true),
    col('Images', 'string', true),
    col('Selector', 'string', true),
  ],
  cells(o, now) {
    const st = status(o);
    const sp = spec(o);
    const succeeded = num(st.succeeded);
    const completions =
      typeof sp.completions === 'number'
        ? `${succeeded}/${sp.completions}`
        : num(sp.parallelism) > 1
          ? `${succeeded}/1 of ${num(sp.parallelism)}`
          : `${succeeded}/1`;
    const start = Date.parse(str(st.startTime));
    const end = st.completionTime !== undefined ? Date.parse(str(st.completionTime)) : now;
    const duration = Number.isNaN(start) || Number.isNaN(end) ? '' : humanDuration(end - start);
    return [
      o.metadata?.name ?? '',
      jobStatusText(o),
      completions,
      duration,
      age(o, now),
      containerNames(podTemplateSpec(o)),
      containerImages(podTemplateSpec(o)),
      selectorText(sp.selector),
    ];
  },
};

const cronJob: Printer = {
  columns: [
    col('Name'),
    col('Schedule'),
    col('Timezone'),
    col('Suspend', 'boolean'),
    col('Active', 'integer'),
    col('Last Schedule'),
    col('Age'),
    col('Containers', 'string', true),
    col('Images', 'string', true),
    col('Selector', 'string', true),
  ],
  cells(o, now) {
    const sp = spec(o);
    const jobSpec = obj(obj(sp.jobTemplate).spec);
    const podSpec = obj(obj(jobSpec.template).spec);
    const last = status(o).lastScheduleTime;
    return [
      o.metadata?.name ?? '',
      str(sp.schedule),
      orNone(str(sp.timeZone)),
      sp.suspend === undefined ? '<unset>' : sp.suspend === true ? 'True' : 'False',
      arr(status(o).active).length,
      last === undefined ? NONE : since(last, now),
      age(o, now),
      containerNames(podSpec),
      containerImages(podSpec),
      selectorText(jobSpec.selector),
    ];
  },
};

function servicePorts(ports: Obj[]): string {
  if (ports.length === 0) return NONE;
  return ports
    .map((p) => {
      const protocol = str(p.protocol) || 'TCP';
      return typeof p.nodePort === 'number' && p.nodePort !== 0 ? `${num(p.port)}:${p.nodePort}/${protocol}` : `${num(p.port)}/${protocol}`;
    })
    .join(',');
}

function serviceExternalIp(service: KubeObject): string {
  const sp = spec(service);
  const external = Array.isArray(sp.externalIPs) ? (sp.externalIPs as string[]) : [];
  switch (str(sp.type) || 'ClusterIP') {
    case 'LoadBalancer': {
      const ingress = arr(obj(status(service).loadBalancer).ingress)
        .map((i) => str(i.ip) || str(i.hostname))
        .filter((s) => s !== '');
      const all = [...ingress, ...external];
      return all.length > 0 ? all.join(',') : '<pending>';
    }
    case 'ExternalName':
      return str(sp.externalName);
    default:
      return external.length > 0 ? external.join(',') : NONE;
  }
}

const service: Printer = {
  columns: [col('Name'), col('Type'), col('Cluster-IP'), col('External-IP'), col('Port(s)'), col('Age'), col('Selector', 'string', true)],
  cells(o, now) {
    const sp = spec(o);
    return [
      o.metadata?.name ?? '',
      str(sp.type) || 'ClusterIP',
      orNone(str(sp.clusterIP)),
      serviceExternalIp(o),
      servicePorts(arr(sp.ports)),
      age(o, now),
      labelsText(sp.selector),
    ];
  },
};

const ingress: Printer = {
  columns: [col('Name'), col('Class'), col('Hosts'), col('Address'), col('Ports'), col('Age')],
  cells(o, now) {
    const sp = spec(o);
    const hosts = arr(sp.rules)
      .map((r) => str(r.host))
      .filter((h) => h !== '');
    const shown = hosts.length === 0 ? '*' : hosts.length > 3 ? `${hosts.slice(0, 3).join(',')} + ${hosts.length - 3} more...` : hosts.join(',');
    const address = arr(obj(status(o).loadBalancer).ingress)
      .map((i) => str(i.ip) || str(i.hostname))
      .filter((s) => s !== '')
      .join(',');
    return [o.metadata?.name ?? '', orNone(str(sp.ingressClassName)), shown, address, arr(sp.tls).length > 0 ? '80, 443' : '80', age(o, now)];
  },
};

const networkPolicy: Printer = {
  columns: [col('Name'), col('Pod-Selector'), col('Age')],
  cells: (o, now) => [o.metadata?.name ?? '', selectorText(spec(o).podSelector), age(o, now)],
};

const podDisruptionBudget: Printer = {
  columns: [col('Name'), col('Min Available'), col('Max Unavailable'), col('Allowed Disruptions', 'integer'), col('Age')],
  cells(o, now) {
    const sp = spec(o);
    const shownOrNa = (value: unknown): string => (value === undefined || value === null ? 'N/A' : String(value));
    return [o.metadata?.name ?? '', shownOrNa(sp.minAvailable), shownOrNa(sp.maxUnavailable), num(status(o).disruptionsAllowed), age(o, now)];
  },
};

const namespace: Printer = {
  columns: [col('Name'), col('Status'), col('Age')],
  cells: (o, now) => [o.metadata?.name ?? '', str(status(o).phase) || 'Active', age(o, now)],
};

function nodeStatusText(node: KubeObject): string {
  const ready = arr(status(node).conditions).find((c) => c.type === 'Ready');
  const text = ready === undefined ? 'Unknown' : ready.status === 'True' ? 'Ready' : ready.status === 'False' ? 'NotReady' : 'Unknown';
  return spec(node).unschedulable === true ? `${text},SchedulingDisabled` : text;
}

function nodeRoles(node: KubeObject): string {
  const roles = new Set<string>();
  for (const [key, value] of Object.entries(node.metadata?.labels ?? {})) {
    if (key.startsWith('node-role.kubernetes.io/') && key.length > 'node-role.kubernetes.io/'.length) roles.add(key.slice('node-role.kubernetes.io/'.length));
    else if (key === 'kubernetes.io/role' && value !== '') roles.add(value);
  }
  return orNone([...roles].sort().join(','));
}

const node: Printer = {
  columns: [
    col('Name'),
    col('Status'),
    col('Roles'),
    col('Age'),
    col('Version'),
    col('Internal-IP', 'string', true),
    col('External-IP', 'string', true),
    col('OS-Image', 'string', true),
    col('Kernel-Version', 'string', true),
    col('Container-Runtime', 'string', true),
  ],
  cells(o, now) {
    const st = status(o);
    const info = obj(st.nodeInfo);
    const address = (type: string): string =>
      orNone(
        arr(st.addresses)
          .filter((a) => a.type === type)
          .map((a) => str(a.address))
          .join(','),
      );
    return [
      o.metadata?.name ?? '',
      nodeStatusText(o),
      nodeRoles(o),
      age(o, now),
      str(info.kubeletVersion),
      address('InternalIP'),
      address('ExternalIP'),
      str(info.osImage) || '<unknown>',
      str(info.kernelVersion) || '<unknown>',
      str(info.containerRuntimeVersion) || '<unknown>',
    ];
  },
};

const configMap: Printer = {
  columns: [col('Name'), col('Data', 'integer'), col('Age')],
  cells: (o, now) => [o.metadata?.name ?? '', Object.keys(obj(o.data)).length + Object.keys(obj(o.binaryData)).length, age(o, now)],
};

const secret: Printer = {
  columns: [col('Name'), col('Type'), col('Data', 'integer'), col('Age')],
  cells: (o, now) => [o.metadata?.name ?? '', str(o.type) || 'Opaque', Object.keys(obj(o.data)).length, age(o, now)],
};

const serviceAccount: Printer = {
  columns: [col('Name'), col('Secrets', 'integer'), col('Age')],
  cells: (o, now) => [o.metadata?.name ?? '', arr(o.secrets).length, age(o, now)],
};

const ACCESS_MODES: Record<string, string> = { ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' };

const persistentVolumeClaim: Printer = {
  columns: [
    col('Name'),
    col('Status'),
    col('Volume'),
    col('Capacity'),
    col('Access Modes'),
    col('StorageClass'),
    col('VolumeAttributesClass'),
    col('Age'),
    col('VolumeMode', 'string', true),
  ],
  cells(o, now) {
    const sp = spec(o);
    const st = status(o);
    const phase = o.metadata?.deletionTimestamp !== undefined ? 'Terminating' : str(st.phase) || 'Pending';
    const modes = (Array.isArray(st.accessModes) ? (st.accessModes as string[]) : []).map((m) => ACCESS_MODES[m] ?? m).join(',');
    return [
      o.metadata?.name ?? '',
      phase,
      str(sp.volumeName),
      str(obj(st.capacity).storage),
      modes,
      str(sp.storageClassName),
      str(sp.volumeAttributesClassName) || '<unset>',
      age(o, now),
      str(sp.volumeMode) || 'Filesystem',
    ];
  },
};

const event: Printer = {
  columns: [
    col('Last Seen'),
    col('Type'),
    col('Reason'),
    col('Object'),
    col('Subobject', 'string', true),
    col('Source', 'string', true),
    col('Message'),
    col('First Seen', 'string', true),
    col('Count', 'string', true),
    col('Name', 'string', true),
  ],
  cells(o, now) {
    const involved = obj(o.involvedObject);
    const source = obj(o.source);
    const last = o.lastTimestamp ?? o.eventTime ?? o.metadata?.creationTimestamp;
    const first = o.firstTimestamp ?? o.eventTime ?? o.metadata?.creationTimestamp;
    const sourceText = [str(source.component) || str(o.reportingComponent), str(source.host) || str(o.reportingInstance)].filter((s) => s !== '').join(', ');
    return [
      since(last, now),
      str(o.type),
      str(o.reason),
      `${str(involved.kind).toLowerCase()}/${str(involved.name)}`,
      str(involved.fieldPath),
      sourceText,
      str(o.message).trim(),
      since(first, now),
      String(num(o.count) || 1),
      o.metadata?.name ?? '',
    ];
  },
};

const controllerRevision: Printer = {
  columns: [col('Name'), col('Controller'), col('Revision', 'integer'), col('Age')],
  cells(o, now) {
    const owner = o.metadata?.ownerReferences?.find((r) => r.controller === true);
    const group = owner === undefined ? '' : owner.apiVersion.includes('/') ? owner.apiVersion.slice(0, owner.apiVersion.indexOf('/')) : '';
    const controller = owner === undefined ? NONE : `${owner.kind.toLowerCase()}${group === '' ? '' : `.${group}`}/${owner.name}`;
    return [o.metadata?.name ?? '', controller, num(o.revision), age(o, now)];
  },
};

function hpaTargets(hpa: KubeObject): string {
  const metrics = arr(spec(hpa).metrics);
  if (metrics.length === 0) return NONE;
  const current = arr(status(hpa).currentMetrics);
  return metrics
    .map((m, i) => {
      const resource = obj(m.resource);
      const target = obj(resource.target);
      const now = obj(obj(current[i]).resource).current;
      if (m.type === 'Resource' && typeof target.averageUtilization === 'number') {
        const value = typeof obj(now).averageUtilization === 'number' ? `${num(obj(now).averageUtilization)}%` : '<unknown>';
        return `${str(resource.name)}: ${value}/${target.averageUtilization}%`;
      }
      return `<unknown>/${String(target.averageValue ?? target.value ?? '<unknown>')}`;
    })
    .join(', ');
}

const horizontalPodAutoscaler: Printer = {
  columns: [col('Name'), col('Reference'), col('Targets'), col('MinPods'), col('MaxPods', 'integer'), col('Replicas', 'integer'), col('Age')],
  cells(o, now) {
    const sp = spec(o);
    const ref = obj(sp.scaleTargetRef);
    return [
      o.metadata?.name ?? '',
      `${str(ref.kind)}/${str(ref.name)}`,
      hpaTargets(o),
      typeof sp.minReplicas === 'number' ? String(sp.minReplicas) : '<unset>',
      num(sp.maxReplicas),
      num(status(o).currentReplicas),
      age(o, now),
    ];
  },
};

const binding: Printer = {
  columns: [col('Name'), col('Role'), col('Age'), col('Users', 'string', true), col('Groups', 'string', true), col('ServiceAccounts', 'string', true)],
  cells(o, now) {
    const ref = obj(o.roleRef);
    const subjects = arr(o.subjects);
    const of = (kind: string): string =>
      subjects
        .filter((s) => s.kind === kind)
        .map((s) => (kind === 'ServiceAccount' ? `${str(s.namespace)}/${str(s.name)}` : str(s.name)))
        .join(', ');
    return [o.metadata?.name ?? '', `${str(ref.kind)}/${str(ref.name)}`, age(o, now), of('User'), of('Group'), of('ServiceAccount')];
  },
};

/** rest.NewDefaultTableConvertor: what the real server prints for kinds without a printer. */
const defaultPrinter: Printer = {
  columns: [col('Name'), col('Created At', 'date')],
  cells: (o) => [o.metadata?.name ?? '', o.metadata?.creationTimestamp ?? ''],
};

const BUILTIN_PRINTERS: Record<string, Printer> = {
  '/Pod': pod,
  '/Namespace': namespace,
  '/Node': node,
  '/ConfigMap': configMap,
  '/Secret': secret,
  '/Service': service,
  '/ServiceAccount': serviceAccount,
  '/Event': event,
  '/PersistentVolumeClaim': persistentVolumeClaim,
  'apps/Deployment': deployment,
  'apps/ReplicaSet': replicaSet,
  'apps/StatefulSet': statefulSet,
  'apps/DaemonSet': daemonSet,
  'apps/ControllerRevision': controllerRevision,
  'batch/Job': job,
  'batch/CronJob': cronJob,
  'networking.k8s.io/Ingress': ingress,
  'networking.k8s.io/NetworkPolicy': networkPolicy,
  'autoscaling/HorizontalPodAutoscaler': horizontalPodAutoscaler,
  'policy/PodDisruptionBudget': podDisruptionBudget,
  'rbac.authorization.k8s.io/RoleBinding': binding,
  'rbac.authorization.k8s.io/ClusterRoleBinding': binding,
};

// ---- custom resources ----

/** The column a CRD gets when it declares no additionalPrinterColumns. */
const DEFAULT_CUSTOM_COLUMNS: PrinterColumn[] = [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: CREATION_DESCRIPTION }];

type PathStep = { field: string } | { index: number } | { filter: { path: string[]; value: string } };

/** Parses the simple JSONPath of printer columns: `.a.b`, `.a[0]`, `.a['b.c']`, `.a[?(@.type=="Ready")].status`. */
function parseJsonPath(path: string): PathStep[] | undefined {
  const text = path
    .trim()
    .replace(/^\{(.*)\}$/, '$1')
    .replace(/^\$/, '');
  const steps: PathStep[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === '.') {
      const match = /^\.([A-Za-z0-9_-]+)/.exec(text.slice(i));
      if (match === null) return undefined;
      steps.push({ field: match[1]! });
      i += match[0].length;
    } else if (text[i] === '[') {
      const rest = text.slice(i);
      const index = /^\[(\d+)\]/.exec(rest);
      const quoted = /^\[['"]([^'"]+)['"]\]/.exec(rest);
      const filter = /^\[\?\(@((?:\.[A-Za-z0-9_-]+)+)\s*==\s*(?:"([^"]*)"|'([^']*)')\)\]/.exec(rest);
      if (index !== null) {
        steps.push({ index: Number(index[1]) });
        i += index[0].length;
      } else if (quoted !== null) {
        steps.push({ field: quoted[1]! });
        i += quoted[0].length;
      } else if (filter !== null) {
        steps.push({ filter: { path: filter[1]!.split('.').slice(1), value: filter[2] ?? filter[3] ?? '' } });
        i += filter[0].length;
      } else return undefined;
    } else return undefined;
  }
  return steps;
}

function evaluateJsonPath(value: unknown, steps: PathStep[]): unknown {
  let current: unknown = value;
  for (const step of steps) {
    if (current === undefined || current === null) return undefined;
    if ('field' in step) current = obj(current)[step.field];
    else if ('index' in step) current = Array.isArray(current) ? current[step.index] : undefined;
    else {
      const found = arr(current).find((item) => {
        let v: unknown = item;
        for (const part of step.filter.path) v = obj(v)[part];
        return String(v) === step.filter.value;
      });
      current = found;
    }
  }
  return current;
}

/** The apiextensions table convertor's cellForJSONValue (string columns print any value). */
function customCell(type: ColumnType, value: unknown, now: number): Cell {
  if (value === undefined || value === null) return null;
  switch (type) {
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'date':
      if (typeof value !== 'string') return null;
      return Number.isNaN(Date.parse(value)) ? '<invalid>' : since(value, now);
    default:
      return typeof value === 'string' ? value : JSON.stringify(value);
  }
}

function customPrinter(columns: PrinterColumn[]): Printer {
  const used = columns.length > 0 ? columns : DEFAULT_CUSTOM_COLUMNS;
  const paths = used.map((c) => parseJsonPath(c.jsonPath));
  return {
    columns: [
      col('Name'),
      ...used.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 })),
    ],
    cells: (o, now) => [
      o.metadata?.name ?? '',
      ...used.map((c, i) => (paths[i] === undefined ? null : customCell(c.type, evaluateJsonPath(o, paths[i]!), now))),
    ],
  };
}

const customPrinters = new WeakMap<ResourceType, Printer>();

export function printerFor(type: ResourceType): Printer {
  if (type.custom) {
    let printer = customPrinters.get(type);
    if (printer === undefined) customPrinters.set(type, (printer = customPrinter(type.printerColumns ?? [])));
    return printer;
  }
  return BUILTIN_PRINTERS[`${type.group}/${type.kind}`] ?? defaultPrinter;
}
