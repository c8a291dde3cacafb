import type { KubeObject } from '../common/kube-object.ts';
import {
  aggregatedDiscovery,
  aggregatedDiscoveryContentType,
  apiGroup,
  coreVersions,
  groupList,
  negotiateAggregatedDiscovery,
  resourceList,
  versionInfo,
} from './discovery.ts';
import { decodeBody, readBody, sendJsonChunks, sendObject, sendText, type SimHttpRequest, type SimHttpResponse } from './http-io.ts';
import { renderListChunks } from './list.ts';
import { openApiGroupVersion, openApiIndex } from './openapi.ts';
import { boolParam, deleteOptionsFrom, filterFrom, intParam, isDryRun, patchTypeOf } from './request-options.ts';
import { parseResourcePath, type ResourcePath } from './request-path.ts';
import { containerLog, logOptionsFrom, renderLine, resolveContainer, selectLines, withinLimit } from './pod-logs.ts';
import { apiVersionOf, resourceId, type ResourceType } from './resource-type.ts';
import { parseStored } from './stored-object.ts';
import type { SimCluster } from './sim-cluster.ts';
import { badRequest, deleteSuccess, methodNotAllowed, pathNotFound, StatusError } from './status.ts';
import { convertList, convertObject, negotiateFormat, watchLineConverter } from './table.ts';
import type { Watcher } from './watch-registry.ts';
import { startWatch, type WatchSink } from './watch-stream.ts';

/**
 * Serves one cluster's Kubernetes API: health, version and discovery documents, then every verb on every
 * resource path. Everything a handler throws as a StatusError becomes the response.
 */
export interface ClusterRequest {
  cluster: SimCluster;
  request: SimHttpRequest;
  response: SimHttpResponse;
  /** Path segments below /clusters/<name>. */
  segments: string[];
  query: URLSearchParams;
  /** host:port clients reach the sim at, for /api's serverAddressByClientCIDRs. */
  serverAddress: string;
  bookmarkIntervalMs: number;
  /** Bytes a watch may have queued for a slow client before the sim ends it. */
  maxWatchBacklogBytes: number;
}

const HEALTH_PATHS = new Set(['healthz', 'readyz', 'livez']);

export async function handleClusterRequest(ctx: ClusterRequest): Promise<void> {
  const { segments, response, cluster } = ctx;
  const method = ctx.request.method ?? 'GET';
  const first = segments[0];
  if (segments.length === 0) return sendObject(response, 200, { paths: ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/readyz', '/version'] });
  if (first !== undefined && HEALTH_PATHS.has(first) && segments.length === 1) return sendText(response, 200, 'ok');
  if (first === 'version' && segments.length === 1) return sendObject(response, 200, versionInfo());
  if ((first === 'api' || first === 'apis') && segments.length === 1) {
    const aggregated = negotiateAggregatedDiscovery(ctx.request.headers.accept);
    if (aggregated !== undefined)
      return sendObject(response, 200, aggregatedDiscovery(cluster.store.registry, first === 'api', aggregated), aggregatedDiscoveryContentType(aggregated));
  }
  if (first === 'api' && segments.length === 1) return sendObject(response, 200, coreVersions(ctx.serverAddress));
  if (first === 'api' && segments.length === 2) return sendDiscovery(response, resourceList(cluster.store.registry, '', segments[1]!), segments);
  if (first === 'apis' && segments.length === 1) return sendObject(response, 200, groupList(cluster.store.registry));
  if (first === 'apis' && segments.length === 2) return sendDiscovery(response, apiGroup(cluster.store.registry, segments[1]!), segments);
  if (first === 'apis' && segments.length === 3) return sendDiscovery(response, resourceList(cluster.store.registry, segments[1]!, segments[2]!), segments);
  if (first === 'openapi' && segments[1] === 'v3') return sendOpenApi(ctx, segments.slice(2));
  if (first === 'openapi' && segments[1] === 'v2' && segments.length === 2) return sendOpenApiV2(response);
  const path = parseResourcePath(segments);
  if (path === undefined) throw pathNotFound(`/${segments.join('/')}`);
  const type = cluster.store.registry.lookup(path.group, path.version, path.resource);
  if (type === undefined) throw pathNotFound(`${method} ${path.resource}`);
  if (path.namespace !== undefined && !type.namespaced) throw pathNotFound(`/${segments.join('/')}`);
  if (path.name === undefined) return handleCollection(ctx, method, type, path);
  return handleObject(ctx, method, type, path);
}

function sendOpenApi(ctx: ClusterRequest, rest: string[]): void {
  const registry = ctx.cluster.store.registry;
  if (rest.length === 0) return sendObject(ctx.response, 200, openApiIndex(registry));
  const schemas = ctx.cluster.options.openApiSchemas;
  const document =
    rest[0] === 'api' && rest.length === 2
      ? openApiGroupVersion(registry, '', rest[1]!, schemas)
      : rest[0] === 'apis' && rest.length === 3
        ? openApiGroupVersion(registry, rest[1]!, rest[2]!, schemas)
        : undefined;
  sendDiscovery(ctx.response, document, ['openapi', 'v3', ...rest]);
}

/**
 * /openapi/v2, which clients read as a protobuf openapi_v2.Document. kubectl falls back to it to validate
 * a kind the /openapi/v3 index does not list (a custom resource whose CRD does not exist yet): an empty
 * document (no bytes) has no definition for it, so kubectl skips that check and reports what a real server
 * makes it report, `no matches for kind "…" in version "…"`. A 404 here would instead fail the validation
 * itself. The sim's schemas are in /openapi/v3 only.
 */
const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

function sendOpenApiV2(response: SimHttpResponse): void {
  response.writeHead(200, { 'content-type': OPENAPI_V2_PROTOBUF, 'content-length': 0 });
  response.end();
}

function sendDiscovery(response: SimHttpResponse, document: Record<string, unknown> | undefined, segments: string[]): void {
  if (document === undefined) throw pathNotFound(`/${segments.join('/')}`);
  sendObject(response, 200, document);
}

async function body(ctx: ClusterRequest): Promise<unknown> {
  return decodeBody(await readBody(ctx.request), ctx.request.headers['content-type']);
}

async function handleCollection(ctx: ClusterRequest, method: string, type: ResourceType, path: ResourcePath): Promise<void> {
  const { cluster, query, response } = ctx;
  const namespace = type.namespaced ? path.namespace : '';
  switch (method) {
    case 'GET': {
      const filter = filterFrom(type, namespace, query);
      if (boolParam(query, 'watch')) return watch(ctx, type, filter);
      const format = negotiateFormat(ctx.request.headers.accept, query);
      const result = cluster.api.list(type, {
        filter,
        ...(intParam(query, 'limit') !== undefined ? { limit: intParam(query, 'limit')! } : {}),
        ...(query.get('continue') !== null ? { continueToken: query.get('continue')! } : {}),
        ...(query.get('resourceVersion') !== null ? { resourceVersion: query.get('resourceVersion')! } : {}),
        ...(query.get('resourceVersionMatch') !== null ? { resourceVersionMatch: query.get('resourceVersionMatch')! } : {}),
      });
      const converted = convertList(
        type,
        result.items,
        {
          resourceVersion: String(result.resourceVersion),
          ...(result.continueToken !== undefined ? { continue: result.continueToken } : {}),
          ...(result.remainingItemCount !== undefined ? { remainingItemCount: result.remainingItemCount } : {}),
        },
        format,
      );
      if (converted !== undefined) return sendObject(response, 200, converted);
      return sendJsonChunks(response, 200, renderListChunks(type.kind, apiVersionOf(type), result));
    }
    case 'POST': {
      if (type.namespaced && namespace === undefined) throw methodNotAllowed(method);
      const created = cluster.api.create(type, namespace ?? '', await body(ctx), { dryRun: isDryRun(query) });
      return sendObject(response, 201, created);
    }
    case 'DELETE': {
      const options = deleteOptionsFrom(await body(ctx), query);
      const deleted = cluster.api.deleteCollection(type, filterFrom(type, namespace, query), options);
      return sendObject(response, 200, {
        kind: `${type.kind}List`,
        apiVersion: apiVersionOf(type),
        metadata: { resourceVersion: String(cluster.resourceVersion) },
        items: deleted,
      });
    }
    default:
      throw methodNotAllowed(method);
  }
}

async function handleObject(ctx: ClusterRequest, method: string, type: ResourceType, path: ResourcePath): Promise<void> {
  const { cluster, query, response } = ctx;
  if (type.namespaced && path.namespace === undefined) throw pathNotFound(`/${ctx.segments.join('/')}`);
  const namespace = type.namespaced ? path.namespace! : '';
  const name = path.name!;
  const api = cluster.api;
  const writeOptions = {
    dryRun: isDryRun(query),
    force: boolParam(query, 'force'),
    ...(query.get('fieldManager') ? { fieldManager: query.get('fieldManager')! } : {}),
  };
  const subresource = path.subresource;
  if (subresource === 'scale') {
    if (!type.subresources.scale) throw pathNotFound(`${type.plural}/scale`);
    switch (method) {
      case 'GET':
        return sendObject(response, 200, api.getScale(type, namespace, name));
      case 'PUT':
        return sendObject(response, 200, api.updateScale(type, namespace, name, await body(ctx), writeOptions));
      case 'PATCH': {
        const patchType = patchTypeOf(ctx.request.headers['content-type']);
        return sendObject(response, 200, api.patchScale(type, namespace, name, patchType, await body(ctx), writeOptions));
      }
      default:
        throw methodNotAllowed(method);
    }
  }
  if (subresource === 'log' && !type.custom && type.kind === 'Pod') {
    if (method !== 'GET') throw methodNotAllowed(method);
    return sendLogs(ctx, type, namespace, name);
  }
  if (subresource !== undefined && !(subresource === 'status' && type.subresources.status)) throw pathNotFound(`${type.plural}/${subresource}`);
  const status = subresource === 'status' ? ('status' as const) : undefined;
  switch (method) {
    case 'GET': {
      const format = status === undefined ? negotiateFormat(ctx.request.headers.accept, query) : { kind: 'object' as const };
      return sendObject(response, 200, convertObject(type, api.get(type, namespace, name), format));
    }
    case 'PUT':
      return sendObject(response, 200, api.update(type, namespace, name, await body(ctx), { ...writeOptions, subresource: status }));
    case 'PATCH': {
      const patchType = patchTypeOf(ctx.request.headers['content-type']);
      const patch = decodeBody(await readBody(ctx.request), patchType === 'apply' ? 'yaml' : 'json');
      if (patch === undefined) throw badRequest('the patch body is empty');
      const result = api.patch(type, namespace, name, patchType, patch, { ...writeOptions, subresource: status });
      return sendObject(response, result.created ? 201 : 200, result.object);
    }
    case 'DELETE': {
      if (status !== undefined) throw methodNotAllowed(method);
      const result = api.delete(type, namespace, name, deleteOptionsFrom(await body(ctx), query));
      if (!result.removed) return sendObject(response, 202, result.object);
      return sendObject(
        response,
        200,
        type.returnsDeletedObject ? result.object : deleteSuccess({ group: type.group, resource: type.plural }, name, uidOf(result.object)),
      );
    }
    default:
      throw methodNotAllowed(method);
  }
}

/**
 * A container's log (src/sim/pod-logs.ts). With `follow`, new lines stream as the pod changes until the
 * container ends, the pod goes or the client leaves; the stream is registered with the cluster's watches,
 * so the drop-watches fault, a removed cluster and shutdown end it as they end watches.
 */
function sendLogs(ctx: ClusterRequest, type: ResourceType, namespace: string, name: string): void {
  const { cluster, response } = ctx;
  const options = logOptionsFrom(ctx.query);
  const pod = cluster.api.get(type, namespace, name);
  if (options.previous) {
    const { spec } = resolveContainer(pod, options.container);
    throw badRequest(`previous terminated container "${String(spec.name)}" in pod "${name}" not found`);
  }
  const log = containerLog(pod, options.container);
  const first = selectLines(log.lines, options, Date.now()).join('');
  if (!options.follow || log.finished) return sendText(response, 200, withinLimit(first, 0, options.limitBytes));

  response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache, private' });
  (response as { flushHeaders?: () => void }).flushHeaders?.();
  const key = `${namespace}/${name}`;
  const uid = pod.metadata?.uid;
  let written = log.lines.length;
  let sent = 0;
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    cluster.store.watches.remove(follower);
    if (!response.writableEnded) (response as { end(): void }).end();
  };
  const write = (text: string): void => {
    const part = withinLimit(text, sent, options.limitBytes);
    sent += Buffer.byteLength(part);
    if (part !== '' && !response.writableEnded && !response.destroyed) (response as { write(chunk: string): boolean }).write(part);
    if (options.limitBytes !== undefined && sent >= options.limitBytes) finish();
  };
  const follower: Watcher = {
    resource: resourceId(type),
    deliver(event) {
      if (done || event.object.key !== key) return;
      if (event.type === 'DELETED' || event.object.uid !== uid) return finish();
      let next;
      try {
        next = containerLog(parseStored(event.object), options.container);
      } catch {
        return;
      }
      write(
        next.lines
          .slice(written)
          .map((line) => renderLine(line, options))
          .join(''),
      );
      written = next.lines.length;
      if (next.finished) finish();
    },
    close: finish,
  };
  cluster.store.watches.add(follower);
  (response as NodeJS.EventEmitter).once('close', finish);
  write(first);
}

function uidOf(object: KubeObject): string {
  return object.metadata?.uid ?? '';
}

function watch(ctx: ClusterRequest, type: ResourceType, filter: ReturnType<typeof filterFrom>): void {
  const { response, query } = ctx;
  const timeoutSeconds = intParam(query, 'timeoutSeconds');
  const sendInitialEvents = query.get('sendInitialEvents');
  const sink = responseSink(response, ctx.maxWatchBacklogBytes, watchLineConverter(type, negotiateFormat(ctx.request.headers.accept, query)));
  response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private' });
  (response as { flushHeaders?: () => void }).flushHeaders?.();
  try {
    startWatch(
      ctx.cluster.store,
      type,
      {
        filter,
        ...(query.get('resourceVersion') !== null ? { resourceVersion: query.get('resourceVersion')! } : {}),
        allowWatchBookmarks: boolParam(query, 'allowWatchBookmarks'),
        ...(sendInitialEvents !== null ? { sendInitialEvents: sendInitialEvents === 'true' } : {}),
        ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
        bookmarkIntervalMs: ctx.bookmarkIntervalMs,
      },
      sink,
    );
  } catch (err) {
    // Headers are out; a bad watch request becomes an ERROR event, as the real server streams it.
    if (!(err instanceof StatusError)) throw err;
    sink.write(`{"type":"ERROR","object":${JSON.stringify(err.toStatus())}}\n`);
    sink.end();
  }
}

function responseSink(response: SimHttpResponse, maxBacklogBytes: number, convert?: (line: string) => string): WatchSink {
  return {
    write(line) {
      if (response.writableEnded || response.destroyed) return false;
      (response as { write(chunk: string): boolean }).write(convert === undefined ? line : convert(line));
      return response.writableLength <= maxBacklogBytes;
    },
    end() {
      if (!response.writableEnded) (response as { end(): void }).end();
    },
    onClose(listener) {
      if (response.destroyed || response.writableEnded) listener();
      else (response as NodeJS.EventEmitter).once('close', listener);
    },
  };
}
