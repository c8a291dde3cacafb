import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isScaleAgentError } from '../common/errors.ts';
import { apiErrorStatus, isExpiredError, kubeApiError, parseRetryAfter, parseStatus } from './api-error.ts';

describe('kubeApiError', () => {
  it('carries the HTTP status, reason and parsed Status', () => {
    const body = Buffer.from(
      JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'AlreadyExists', code: 409, message: 'deployments.apps "web" already exists' }),
    );
    const err = kubeApiError(409, body, { method: 'POST', path: '/apis/apps/v1/namespaces/d/deployments' });
    assert.ok(isScaleAgentError(err, 'KUBE_API_ERROR'));
    assert.equal(err.details.status, 409);
    assert.equal(err.details.reason, 'AlreadyExists');
    assert.equal((err.details.kubeStatus as { message: string }).message, 'deployments.apps "web" already exists');
    assert.equal(apiErrorStatus(err), 409);
    assert.match(err.message, /POST .* 409 AlreadyExists: deployments.apps "web" already exists/);
  });

  it('survives bodies that are not Status JSON', () => {
    for (const body of [Buffer.from('<html>502 Bad Gateway</html>'), Buffer.alloc(0), Buffer.from('[1,2]'), Buffer.from('{"unrelated":true}')]) {
      const err = kubeApiError(502, body);
      assert.equal(err.details.status, 502);
      assert.equal(err.details.kubeStatus, undefined);
    }
    assert.match(kubeApiError(502, Buffer.from('<html>502 Bad Gateway</html>')).message, /Bad Gateway/);
  });

  it('recognises expiry by status or by reason', () => {
    assert.equal(isExpiredError(kubeApiError(410, '')), true);
    assert.equal(isExpiredError(kubeApiError(500, JSON.stringify({ kind: 'Status', reason: 'Expired', code: 500 }))), true);
    assert.equal(isExpiredError(kubeApiError(500, '')), false);
    assert.equal(isExpiredError(new Error('x')), false);
  });

  it('reads Retry-After in seconds or as a date, and from Status details', () => {
    assert.equal(parseRetryAfter('3'), 3);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 5_000), 5);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(kubeApiError(429, '', { retryAfter: '7' }).details.retryAfterSeconds, 7);
    assert.equal(kubeApiError(429, JSON.stringify({ kind: 'Status', code: 429, details: { retryAfterSeconds: 2 } })).details.retryAfterSeconds, 2);
  });

  it('parses Status objects only', () => {
    assert.equal(parseStatus('nope'), undefined);
    assert.deepEqual(parseStatus({ kind: 'Status', code: 1 }), { kind: 'Status', code: 1 });
  });
});
