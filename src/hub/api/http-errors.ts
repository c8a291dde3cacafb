import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { Errors, ScaleAgentError, isScaleAgentError, type ErrorDefinition } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { HTTP_BAD_REQUEST, HTTP_INTERNAL_ERROR, HTTP_NOT_FOUND } from '../../common/http-status.ts';
import { errorBody } from '../http/error-body.ts';

/** Code for failures nobody raised on purpose (bugs); deliberately outside the catalogue. */
export const UNEXPECTED_ERROR_CODE = Errors.INTERNAL_ERROR.code;

/** The same error definition answered with another HTTP status (e.g. an unknown account in an op body is a 400). */
export function withStatus(def: ErrorDefinition, httpStatus: number): ErrorDefinition {
  return { code: def.code, httpStatus };
}

export function requestInvalid(message: string, details: Record<string, unknown> = {}): ScaleAgentError {
  return new ScaleAgentError(Errors.REQUEST_INVALID, message, details);
}

export function notFound(message: string, details: Record<string, unknown> = {}): ScaleAgentError {
  return new ScaleAgentError(Errors.NOT_FOUND, message, details);
}

export function sendError(reply: FastifyReply, err: ScaleAgentError, now: number = Date.now()): FastifyReply {
  return reply.code(err.httpStatus).send(errorBody(err.httpStatus, err.message, err.code, now));
}

function isFastifyError(err: unknown): err is FastifyError {
  return err instanceof Error && typeof (err as FastifyError).code === 'string' && (err as FastifyError).code.startsWith('FST_');
}

/** `now`: the clock of the bodies' `timestamp` (tests that compare bodies whole fix it). */
export function installErrorHandling(app: FastifyInstance, logger: Logger, now: () => number = Date.now): void {
  app.setErrorHandler((err: unknown, request, reply) => {
    if (isScaleAgentError(err)) {
      if (err.httpStatus >= HTTP_INTERNAL_ERROR) logger.error({ err, url: request.url }, 'request failed');
      return sendError(reply, err, now());
    }
    // Fastify's own client errors: malformed JSON, wrong content type, body too large.
    const status = (err as { statusCode?: number }).statusCode;
    if (isFastifyError(err) || (typeof status === 'number' && status >= HTTP_BAD_REQUEST && status < HTTP_INTERNAL_ERROR)) {
      const code = typeof status === 'number' && status < HTTP_INTERNAL_ERROR ? status : HTTP_BAD_REQUEST;
      return reply.code(code).send(errorBody(code, (err as Error).message, Errors.REQUEST_INVALID.code, now()));
    }
    logger.error({ err, url: request.url }, 'unexpected error serving a request');
    return reply.code(HTTP_INTERNAL_ERROR).send(errorBody(HTTP_INTERNAL_ERROR, (err as Error)?.message ?? String(err), UNEXPECTED_ERROR_CODE, now()));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(HTTP_NOT_FOUND).send(errorBody(HTTP_NOT_FOUND, `No handler found for ${request.method} ${request.url}`, Errors.NOT_FOUND.code, now()));
  });
}
