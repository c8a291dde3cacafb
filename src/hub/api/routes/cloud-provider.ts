import type { ScaleAgentError } from '../../../common/errors.ts';
import { CLOUD_PROVIDER } from '../../views/models.ts';
import { requestInvalid } from '../http-errors.ts';

/** Whether a request's cloud provider (absent, empty or "kubernetes", any case) is ours. */
export function isKubernetes(provider: string | undefined): boolean {
  return provider === undefined || provider === '' || provider.toLowerCase() === CLOUD_PROVIDER;
}

/** Clouddriver's CloudProviderNotFoundException is a 400 (`@ResponseStatus(BAD_REQUEST)`). */
export function noCloudProvider(provider: string): ScaleAgentError {
  return requestInvalid(`No cloud provider named ${provider} found`, { provider });
}
