import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isScaleAgentError } from '../../common/errors.ts';
import { isSecretReference, parseSecretReference } from './secret-reference.ts';

describe('secret references', () => {
  test('Vault references: value and file forms, base64 flag, values with colons, slashes trimmed', () => {
    assert.deepEqual(parseSecretReference('encrypted:vault!e:secret!p:spinnaker/github!k:token'), {
      form: 'value',
      location: { engine: 'vault', mount: 'secret', path: 'spinnaker/github', key: 'token', base64: false },
      text: 'encrypted:vault!e:secret!p:spinnaker/github!k:token',
    });
    const file = parseSecretReference('encryptedFile:vault!e:/kv/team/!p:/spinnaker/kubernetes/!k:config:prod!b:true');
    assert.equal(file.form, 'file');
    assert.deepEqual(file.location, { engine: 'vault', mount: 'kv/team', path: 'spinnaker/kubernetes', key: 'config:prod', base64: true });
    assert.equal(file.text, 'encryptedFile:vault!e:kv/team!p:spinnaker/kubernetes!k:config:prod!b:true');
    // Kork matches the file prefix without regard to case.
    assert.equal(parseSecretReference('encryptedfile:vault!e:secret!p:a!k:b').form, 'file');
  });

  test('Kubernetes references: with and without a namespace', () => {
    assert.deepEqual(parseSecretReference('encryptedFile:k8s!n:kubeconfigs!k:prod.yaml').location, { engine: 'k8s', name: 'kubeconfigs', key: 'prod.yaml' });
    assert.deepEqual(parseSecretReference('encrypted:k8s!n:hub-token!k:token!ns:spinnaker').location, {
      engine: 'k8s',
      name: 'hub-token',
      key: 'token',
      namespace: 'spinnaker',
    });
  });

  test('what counts as a reference', () => {
    assert.equal(isSecretReference('encrypted:vault!e:a!p:b!k:c'), true);
    assert.equal(isSecretReference('encryptedFile:k8s!n:a!k:b'), true);
    assert.equal(isSecretReference('encrypted:nonsense'), true, 'malformed references are references, to be refused');
    assert.equal(isSecretReference('/kubeconfigs/prod.yaml'), false);
    assert.equal(isSecretReference('apiVersion: v1\nkind: Config\n'), false);
    assert.equal(isSecretReference(undefined), false);
  });

  const refused: Array<[string, RegExp]> = [
    ['encrypted:vault', /names no parameters \(vault!e:<mount>!p:<path>!k:<key>/],
    ['encrypted:s3!b:bucket!f:file', /unknown secret engine "s3" after encrypted: \(known: vault, k8s\)/],
    ['encryptedFile:vault!e:secret!p:x', /kubeconfigFile: the vault reference has no key \(!k:…/],
    ['encrypted:vault!p:x!k:y', /has no secrets engine mount \(!e:…/],
    ['encrypted:vault!e:secret!k:y', /has no secret path \(!p:…/],
    ['encrypted:vault!e:secret!p:x!k:y!key:z', /unknown parameter "key"/],
    ['encrypted:vault!e:secret!p:x!k:y!k:z', /names parameter "k" twice/],
    ['encrypted:vault!e:secret!p:../x!k:y', /path "..\/x" is not a path of plain segments/],
    ['encrypted:vault!e:secret!p:x?list=true!k:y', /is not a path of plain segments/],
    ['encrypted:vault!e:secret!p:x!k:y!b:yes', /b must be true or false/],
    ['encrypted:k8s!n:Bad_Name!k:y', /Secret name "Bad_Name" is not a valid object name/],
    ['encrypted:k8s!n:ok!k:a/b', /key "a\/b" is not a valid Secret data key/],
    ['encrypted:k8s!n:ok!k:y!ns:Spinnaker', /namespace "Spinnaker" is not a valid namespace name/],
    ['encrypted:k8s!n:ok', /has no key/],
  ];
  for (const [reference, message] of refused) {
    test(`refused: ${reference}`, () => {
      assert.throws(
        () => parseSecretReference(reference, 'kubeconfigFile'),
        (err) => isScaleAgentError(err, 'SECRET_REFERENCE_INVALID') && message.test(err.message) && err.message.startsWith('kubeconfigFile: '),
      );
    });
  }

  test('a malformed part is named by its position, not quoted', () => {
    const hidden = 's3cr3t-value-that-is-no-reference';
    assert.throws(
      () => parseSecretReference(`encrypted:vault!${hidden}`),
      (err) =>
        isScaleAgentError(err, 'SECRET_REFERENCE_INVALID') &&
        /parameter 1 of the vault reference is not <name>:<value>/.test(err.message) &&
        !err.message.includes(hidden),
    );
    assert.throws(
      () => parseSecretReference(`encrypted:${hidden}!with-no-engine`),
      (err) =>
        isScaleAgentError(err, 'SECRET_REFERENCE_INVALID') && /unknown secret engine with an invalid name/.test(err.message) && !err.message.includes(hidden),
    );
  });
});
