import assert from 'node:assert/strict';
import { isScaleAgentError } from '../../../common/errors.ts';

/** Awaits `promise`, asserts it fails with a typed error of `code`, and returns the error's message. */
export async function refusal(promise: Promise<unknown>, code: string): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isScaleAgentError(err), `a typed error, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err.message;
  }
  assert.fail(`expected ${code}`);
}
