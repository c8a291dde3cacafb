import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { Errors, ScaleAgentError } from '../../common/errors.ts';
import { silentLogger } from '../../common/logger.ts';
import { errorBody, springTimestamp } from '../http/error-body.ts';
import { installErrorHandling, notFound } from './http-errors.ts';

/** 2021-01-25T21:52:25.252Z: the instant of the Clouddriver 404 in spinnaker/orca's test resources. */
const AT = Date.UTC(2021, 0, 25, 21, 52, 25, 252);

test("Spring's timestamp: ISO-8601 in UTC with milliseconds and a +00:00 offset, as Jackson writes a Date", () => {
  assert.equal(springTimestamp(AT), '2021-01-25T21:52:25.252+00:00');
  assert.equal(springTimestamp(0), '1970-01-01T00:00:00.000+00:00');
  assert.deepEqual(Object.keys(errorBody(400, 'x', Errors.REQUEST_INVALID.code, AT)), ['timestamp', 'status', 'error', 'message', 'code']);
});

test('every REST error body carries the timestamp of the injected clock, with status, error, message and our code', async () => {
  const app = Fastify({ logger: false });
  installErrorHandling(app, silentLogger(), () => AT);
  app.get('/missing', async () => {
    throw notFound('account nope not found');
  });
  app.get('/conflict', async () => {
    throw new ScaleAgentError(Errors.TASK_REQUEST_ID_CONFLICT, 'in use');
  });
  app.get('/bug', async () => {
    throw new Error('boom');
  });
  app.post('/json', async () => 'never');
  try {
    const body = async (method: 'GET' | 'POST', url: string, payload?: string) => {
      const res = await app.inject({ method, url, ...(payload !== undefined ? { payload, headers: { 'content-type': 'application/json' } } : {}) });
      return { status: res.statusCode, body: res.json() };
    };
    const timestamp = '2021-01-25T21:52:25.252+00:00';
    assert.deepEqual(await body('GET', '/missing'), {
      status: 404,
      body: { timestamp, status: 404, error: 'Not Found', message: 'account nope not found', code: Errors.NOT_FOUND.code },
    });
    assert.deepEqual(await body('GET', '/conflict'), {
      status: 409,
      body: { timestamp, status: 409, error: 'Conflict', message: 'in use', code: Errors.TASK_REQUEST_ID_CONFLICT.code },
    });
    assert.deepEqual(await body('GET', '/bug'), {
      status: 500,
      body: { timestamp, status: 500, error: 'Internal Server Error', message: 'boom', code: Errors.INTERNAL_ERROR.code },
    });
    assert.deepEqual(await body('GET', '/nowhere'), {
      status: 404,
      body: { timestamp, status: 404, error: 'Not Found', message: 'No handler found for GET /nowhere', code: Errors.NOT_FOUND.code },
    });
    const malformed = await body('POST', '/json', '{');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.timestamp, timestamp);
    assert.equal(malformed.body.code, Errors.REQUEST_INVALID.code);
  } finally {
    await app.close();
  }
});
