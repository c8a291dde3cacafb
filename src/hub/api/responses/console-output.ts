import type { OperationRouter } from '../../router/types.ts';
import type { AccountReader, CacheReader } from '../../store/types.ts';
import { resolveFullName } from '../../views/loader.ts';
import { containerNames } from '../../views/manifest-facts.ts';
import { parseManifest } from '../../views/resource.ts';
import { succeeded } from './live-reads.ts';

/** Lines of each container's log the console shows (Clouddriver shows whole logs; ours travel through the agent). */
const CONSOLE_TAIL_LINES = 5000;

export interface ContainerLog {
  name: string;
  output: string;
}

/**
 * Clouddriver's console output: the logs of each init and app container, read live. Ours come through
 * the agent holding the account (the `logs` operation); when there is none, or the read fails, the
 * container's entry says why instead of holding logs. Undefined when the account or kind is unknown.
 */
export async function consoleOutput(
  store: CacheReader & AccountReader,
  router: OperationRouter,
  account: string,
  namespace: string,
  fullName: string,
): Promise<ContainerLog[] | undefined> {
  const target = await resolveFullName(store, account, fullName);
  if (!target || target.group !== '' || target.kind !== 'Pod') return undefined;
  const object = await store.getObject(account, '', 'Pod', namespace, target.name);
  if (!object) return [{ name: 'Error', output: 'Failed to retrieve pod data; pod may have been deleted.' }];
  const manifest = parseManifest(object);
  const containers = manifest ? containerNames(manifest) : [];
  return Promise.all(
    containers.map(async (container): Promise<ContainerLog> => {
      const outcome = await router.execute(account, {
        type: 'logs',
        target: { group: '', version: '', kind: 'Pod', namespace, name: target.name },
        container,
        tailLines: CONSOLE_TAIL_LINES,
      });
      if (succeeded(outcome)) {
        return { name: container, output: typeof outcome.body === 'string' ? outcome.body : outcome.body === null ? '' : JSON.stringify(outcome.body) };
      }
      const reason = outcome.message !== '' ? outcome.message : (outcome.errorCode ?? `HTTP ${outcome.httpStatus}`);
      return { name: container, output: `Logs of container ${container} could not be read through the agent for account ${account}: ${reason}` };
    }),
  );
}
