import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, toBinary } from '@bufbuild/protobuf';
import { AccountInfoSchema, type AccountInfo } from '../../protocol/index.ts';
import { declarationChunks, declarationElements } from './declaration-chunks.ts';

function account(name: string, kinds = 0): AccountInfo {
  return create(AccountInfoSchema, {
    name,
    cluster: { apiServerHost: `https://${name}`, caFingerprint: 'ab', kubeSystemUid: name },
    kinds: Array.from({ length: kinds }, (_, i) => ({ kind: `Kind${i}`, version: 'v1', resource: `kind${i}s` })),
    namespaces: ['a', 'b'],
    permissions: [{ access: 'READ', roles: ['ops', 'dev'] }],
  });
}

test('declarations are cut by count, by the elements the hub counts and by bytes, in order, none lost', () => {
  const accounts = Array.from({ length: 10 }, (_, i) => account(`a${i}`, i));
  assert.equal(declarationElements(accounts[3]!), 1 + 1 + 3 + 2 + 1 + 2);
  const names = (chunks: AccountInfo[][]) => chunks.map((c) => c.map((a) => a.name));
  const unbounded = { maxAccounts: 100, maxElements: 1e9, maxBytes: 1e9 };
  assert.deepEqual(names(declarationChunks(accounts, unbounded)), [accounts.map((a) => a.name)]);
  assert.deepEqual(names(declarationChunks(accounts, { ...unbounded, maxAccounts: 4 })), [
    ['a0', 'a1', 'a2', 'a3'],
    ['a4', 'a5', 'a6', 'a7'],
    ['a8', 'a9'],
  ]);
  for (const chunk of declarationChunks(accounts, { ...unbounded, maxElements: 30 })) {
    assert.ok(chunk.length === 1 || chunk.reduce((sum, a) => sum + declarationElements(a), 0) <= 30);
  }
  const bytes = (a: AccountInfo) => toBinary(AccountInfoSchema, a).length;
  const byBytes = declarationChunks(accounts, { ...unbounded, maxBytes: bytes(accounts[9]!) });
  assert.equal(byBytes.flat().length, accounts.length);
  for (const chunk of byBytes) assert.ok(chunk.length === 1 || chunk.reduce((sum, a) => sum + bytes(a), 0) <= bytes(accounts[9]!));
  assert.deepEqual(declarationChunks([], unbounded), []);
});
