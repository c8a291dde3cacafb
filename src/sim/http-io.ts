import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { parse as parseYaml } from 'yaml';
import { ResponseBufferPool } from './response-buffers.ts';
import { badRequest, StatusError, type Status } from './status.ts';

/**
 * Request and response plumbing shared by HTTP/1.1 and HTTP/2 (Node's compatibility API gives both the
 * same shape): body reading with a size limit, JSON and YAML decoding, JSON and Status responses.
 */
export type SimHttpRequest = IncomingMessage | Http2ServerRequest;
export type SimHttpResponse = ServerResponse | Http2ServerResponse;

/** The real API server's request body limit (3 MiB objects, plus room for patches and envelopes). */
export const MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024 + 64 * 1024;
const JSON_CONTENT_TYPE = 'application/json';

export async function readBody(request: SimHttpRequest): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REQUEST_BODY_BYTES) throw new StatusError(413, 'RequestEntityTooLarge', 'the request body is too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Binary encodings the real API server also accepts; the sim does not decode them (clients get a 415). */
const BINARY_MEDIA_TYPES = new Set(['application/vnd.kubernetes.protobuf', 'application/cbor']);

/** Decodes a request body as JSON, or as YAML when the content type says so; empty bodies are undefined. */
export function decodeBody(body: Buffer, contentType: string | undefined): unknown {
  const text = body.toString('utf8');
  if (text.trim() === '') return undefined;
  if (BINARY_MEDIA_TYPES.has((contentType ?? '').split(';')[0]!.trim().toLowerCase())) {
    throw new StatusError(
      415,
      'UnsupportedMediaType',
      'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml',
    );
  }
  const yaml = (contentType ?? '').includes('yaml');
  try {
    return yaml ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw badRequest(`the body of the request could not be decoded: ${(err as Error).message}`);
  }
}

export function sendJson(response: SimHttpResponse, code: number, body: string, contentType = JSON_CONTENT_TYPE): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  response.writeHead(code, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

/** One pool for the process: every server of a sim shares it, as they share the heap it protects. */
const responseBuffers = new ResponseBufferPool();

/**
 * A JSON body given as chunks (a large list): encoded into pooled buffers (src/sim/response-buffers.ts),
 * never joined into one string; each buffer goes back to the pool once its write has completed.
 */
export function sendJsonChunks(response: SimHttpResponse, code: number, chunks: readonly string[]): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  const body = responseBuffers.encode(chunks);
  response.writeHead(code, { 'content-type': JSON_CONTENT_TYPE, 'content-length': body.byteLength });
  // The two response types' write overloads do not unify; both take a buffer and a completion callback.
  const write = response.write.bind(response) as (chunk: Buffer, done: (err?: Error | null) => void) => boolean;
  body.parts.forEach((part, index) => write(part, () => body.release(index)));
  response.end();
}

export function sendObject(response: SimHttpResponse, code: number, body: unknown, contentType?: string): void {
  sendJson(response, code, JSON.stringify(body), contentType);
}

export function sendStatus(response: SimHttpResponse, status: Status): void {
  sendJson(response, status.code, JSON.stringify(status));
}

export function sendText(response: SimHttpResponse, code: number, text: string): void {
  response.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}
