import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Errors, ScaleAgentError } from '../../../common/errors.ts';
import { HTTP_ACCEPTED, HTTP_CREATED, HTTP_NO_CONTENT } from '../../../common/http-status.ts';
import type { DefinitionService } from '../../definitions/definition-service.ts';
import { checkZoneId } from '../../definitions/definition-input.ts';
import type { ImportOptions } from '../../definitions/import-plan.ts';
import { parseYamlDocuments } from '../bounded-input.ts';
import { requestInvalid } from '../http-errors.ts';
import { accountEntryView } from '../responses/account-entry-view.ts';
import { booleanParam, queryOf, type Query, type RouteContext } from './route-context.ts';

/** YAML bodies (an import of Clouddriver's YAML, a definition written in YAML): parsed by the routes, bounded. */
export const YAML_CONTENT_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'] as const;

/** One definition's body: its JSON is at most 64 KiB (definition-input.ts); the rest is room for YAML's layout. */
export const DEFINITION_BODY_LIMIT_BYTES = 1024 * 1024;
/** An import's body: thousands of accounts of a few KiB each (MAX_IMPORTED_ACCOUNTS). */
export const IMPORT_BODY_LIMIT_BYTES = 32 * 1024 * 1024;

/**
 * The documents of a body: a JSON body is one document; a YAML (or text) body may hold several (`---`),
 * parsed within the bounds of bounded-input.ts. Empty documents are skipped.
 */
export function bodyDocuments(body: unknown): unknown[] {
  if (typeof body !== 'string') {
    if (body === undefined) throw requestInvalid('the request has no body');
    return [body];
  }
  const documents = parseYamlDocuments(body, '(body)', (i) => `(document ${i + 1})`).filter((d) => d !== null && d !== undefined);
  if (documents.length === 0) throw requestInvalid('the request body holds no document');
  return documents;
}

/** The one document a single definition's body must be. */
function oneDocument(body: unknown): unknown {
  const documents = bodyDocuments(body);
  if (documents.length !== 1) throw requestInvalid(`the body holds ${documents.length} documents; one account definition is expected`);
  return documents[0];
}

function importOptions(query: Query): ImportOptions {
  const options: ImportOptions = {};
  if (query.zoneId !== undefined) options.zoneId = checkZoneId(query.zoneId);
  if (query.state !== undefined) {
    const state = query.state.toUpperCase();
    if (state !== 'ACTIVE' && state !== 'INACTIVE') throw requestInvalid(`state: ACTIVE or INACTIVE, not ${query.state}`, { field: 'state' });
    options.desiredState = state === 'ACTIVE' ? 'active' : 'inactive';
  }
  return options;
}

/**
 * The hub's dynamic accounts API (docs/operations.md, "Dynamic accounts"), under /admin/ so that it
 * needs one of auth.adminRoles while REST authorization is on:
 *
 * - GET /admin/accounts: every account, dynamic (defined here) or static (an agent's configuration), with its status;
 * - GET /admin/accounts/{name};
 * - POST /admin/accounts: creates a definition (201; 409 ACCOUNT_DEFINITION_EXISTS, 409 ACCOUNT_NOT_DYNAMIC);
 * - PUT /admin/accounts/{name}: replaces one (404 ACCOUNT_DEFINITION_NOT_FOUND); `zoneId`, `state` left out keep theirs;
 * - DELETE /admin/accounts/{name}: withdraws it from its agents (202 while they stop it, 204 once gone);
 * - POST /admin/accounts/import?dryRun=&zoneId=&state=: Clouddriver's Kubernetes accounts as definitions, with the plan.
 *
 * Bodies are JSON or YAML. The path parameter is `name`, not `account`: these routes are the admin
 * role's, not an account's READ.
 */
export function accountDefinitionRoutes(app: FastifyInstance, context: RouteContext, definitions: DefinitionService): void {
  const by = (request: FastifyRequest) => context.auth.taskCreator(request);

  void app.register(async (scope) => {
    // Encapsulated: YAML bodies are taken as text by these routes only.
    scope.addContentTypeParser([...YAML_CONTENT_TYPES], { parseAs: 'string' }, (_request, body, done) => done(null, body));

    scope.get('/admin/accounts', async () => (await definitions.list()).map((entry) => accountEntryView(entry)));

    scope.get<{ Params: { name: string } }>('/admin/accounts/:name', async (request) => {
      const entry = await definitions.get(request.params.name);
      if (entry === undefined) {
        throw new ScaleAgentError(Errors.ACCOUNT_NOT_FOUND, `account ${request.params.name} has neither a definition nor a registration`, {
          account: request.params.name,
        });
      }
      return accountEntryView(entry);
    });

    scope.post('/admin/accounts', { bodyLimit: DEFINITION_BODY_LIMIT_BYTES }, async (request, reply) => {
      const { entry, ignored } = await definitions.create(oneDocument(request.body), by(request));
      return reply.code(HTTP_CREATED).send(accountEntryView(entry, ignored));
    });

    scope.put<{ Params: { name: string } }>('/admin/accounts/:name', { bodyLimit: DEFINITION_BODY_LIMIT_BYTES }, async (request) => {
      const { entry, ignored } = await definitions.update(request.params.name, oneDocument(request.body), by(request));
      return accountEntryView(entry, ignored);
    });

    scope.delete<{ Params: { name: string } }>('/admin/accounts/:name', async (request, reply) => {
      const entry = await definitions.delete(request.params.name, by(request));
      return entry === undefined ? reply.code(HTTP_NO_CONTENT).send() : reply.code(HTTP_ACCEPTED).send(accountEntryView(entry));
    });

    scope.post('/admin/accounts/import', { bodyLimit: IMPORT_BODY_LIMIT_BYTES }, async (request) => {
      const query = queryOf(request.query);
      return definitions.import(bodyDocuments(request.body), { ...importOptions(query), dryRun: booleanParam(query.dryRun, false) }, by(request));
    });
  });
}
