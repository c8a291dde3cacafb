import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AccountRecord } from '../store/types.ts';
import { ACCOUNT_SOURCE_PROPERTY, finishDeletion, type DeletionStore } from './definition-deletion.ts';

function registration(name: string, status: AccountRecord['status'], source: string | undefined): AccountRecord {
  return {
    name,
    cluster: { apiServerHost: 'https://one.example', caFingerprint: 'ab', kubeSystemUid: 'uid' },
    kubernetesVersion: 'v1.34.0',
    namespaces: [],
    kinds: [],
    permissions: {},
    properties: source === undefined ? {} : { [ACCOUNT_SOURCE_PROPERTY]: source },
    agentId: 'agent',
    hubId: null,
    status,
    registeredAt: 0,
    lastSeenAt: 0,
  };
}

/** The store as finishDeletion uses it, recording what it deleted. */
function storeWith(account: AccountRecord | undefined) {
  const deleted: string[] = [];
  const store: DeletionStore = {
    getAccount: async () => account,
    deleteAccount: async (name) => {
      deleted.push(`account ${name}`);
      return true;
    },
    deleteDefinition: async (name) => {
      deleted.push(`definition ${name}`);
      return true;
    },
  };
  return { store, deleted };
}

test('a deleted dynamic account takes its registration and cache with it once no agent serves it', async () => {
  const served = storeWith(registration('dyn', 'connected', 'hub'));
  assert.equal(await finishDeletion(served.store, 'dyn'), false, 'an agent still serves it');
  assert.deepEqual(served.deleted, []);

  const left = storeWith(registration('dyn', 'disconnected', 'hub'));
  assert.equal(await finishDeletion(left.store, 'dyn'), true);
  assert.deepEqual(left.deleted, ['account dyn', 'definition dyn']);
});

test("a definition named like an agent's own (file) account leaves that registration and its cache alone", async () => {
  const { store, deleted } = storeWith(registration('prod', 'disconnected', 'file'));
  assert.equal(await finishDeletion(store, 'prod'), true);
  assert.deepEqual(deleted, ['definition prod']);
});
