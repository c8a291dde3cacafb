import type { KubeObject } from '../../common/kube-object.ts';

/**
 * Secret values never leave the hub: the agent already drops them, and every manifest the API returns
 * goes through here again in case one slipped through (an op result comes straight from the API server).
 */
export function stripSecretData<T extends KubeObject>(manifest: T): T {
  if (manifest.kind !== 'Secret' || (manifest.data === undefined && manifest.stringData === undefined)) return manifest;
  const { data: _data, stringData: _stringData, ...rest } = manifest;
  return rest as T;
}
