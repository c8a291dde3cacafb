import type { FastifyInstance, FastifyReply } from 'fastify';
import { Errors, isScaleAgentError } from '../../../common/errors.ts';
import type { ArtifactService } from '../../artifacts/artifact-service.ts';
import { requestInvalid } from '../../artifacts/artifact.ts';
import { queryOf, type Query } from './route-context.ts';

/** What base64 adds to an embedded artifact's size: 4 characters per 3 bytes. */
const BASE64_CHARS_PER_BYTE = 4 / 3;
/** Room in a fetch body for the artifact's other fields (metadata, provenance, …) beside its reference. */
export const ARTIFACT_BODY_OVERHEAD_BYTES = 64 * 1024;

/** Runs a handler; a busy refusal (ARTIFACT_FETCH_BUSY, 503) says when to come back, as Retry-After. */
async function retryAfterWhenBusy<T>(reply: FastifyReply, handler: () => Promise<T>): Promise<T> {
  try {
    return await handler();
  } catch (err) {
    if (isScaleAgentError(err, Errors.ARTIFACT_FETCH_BUSY.code)) reply.header('retry-after', String(err.details.retryAfterSeconds));
    throw err;
  }
}

function required(query: Query, name: string): string {
  const value = query[name];
  if (value === undefined || value === '') throw requestInvalid(name, 'is required (a query parameter)');
  return value;
}

/**
 * Clouddriver's ArtifactController: PUT /artifacts/fetch/ answers the artifact's bytes
 * (application/octet-stream), GET /artifacts/credentials the artifact accounts (`[{name, types, type}]`),
 * and GET /artifacts/account/{name}/names?type= and …/versions?type=&artifactName= a list of strings
 * (Helm accounts: chart names, a chart's versions). These are not Kubernetes accounts: with REST
 * authorization on, any authenticated caller may use them (Clouddriver has no permissions on artifact
 * accounts), and Spinnaker's own service calls (serviceCalls: read) the GETs. A fetch body is bounded
 * by the largest artifact (artifacts.maxBytes) base64-encoded, plus room for the other fields; its
 * nesting by the API's JSON parser (bounded-input.ts).
 */
export function artifactRoutes(app: FastifyInstance, artifacts: ArtifactService): void {
  const bodyLimit = Math.ceil(artifacts.config.maxBytes * BASE64_CHARS_PER_BYTE) + ARTIFACT_BODY_OVERHEAD_BYTES;
  // Orca's OortService calls PUT /artifacts/fetch/ (the trailing slash is ignored by the server).
  app.put('/artifacts/fetch', { bodyLimit }, async (request, reply) => {
    const bytes = await retryAfterWhenBusy(reply, () => artifacts.fetch(request.body));
    return reply.type('application/octet-stream').send(bytes);
  });
  app.get('/artifacts/credentials', async () => artifacts.credentials());
  app.get<{ Params: { name: string } }>('/artifacts/account/:name/names', async (request, reply) => {
    const query = queryOf(request.query);
    return retryAfterWhenBusy(reply, () => artifacts.names(request.params.name, required(query, 'type')));
  });
  app.get<{ Params: { name: string } }>('/artifacts/account/:name/versions', async (request, reply) => {
    const query = queryOf(request.query);
    return retryAfterWhenBusy(reply, () => artifacts.versions(request.params.name, required(query, 'type'), required(query, 'artifactName')));
  });
}
