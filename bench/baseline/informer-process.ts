/**
 * The baseline of the watch benchmark: `@kubernetes/client-node`'s informer, used the way its README
 * shows — per cluster a KubeConfig loaded from the kubeconfig file, and per kind `makeInformer(kc, path,
 * listFn)` whose list function is the client's generic `KubernetesObjectApi.list(apiVersion, kind)` (one
 * unpaged list of all namespaces, deserialised into the client's model classes); the informer keeps
 * every object in its ObjectCache and watches from the list's resourceVersion.
 *
 * Runs in its own process so that its resident memory can be measured alone. Input: the path of a JSON
 * file (InformerProcessSpec). Output, one JSON object a line:
 *
 *   {"type":"synced","informers":…,"objects":…,"ms":…}   every informer has listed and opened its watch
 *   {"type":"stats","objects":…,"memory":{rss,heapUsed,…}} in answer to a `stats` line on stdin
 *   {"type":"informer-error","account":…,"kind":…,"message":…}
 *
 * It exits on SIGTERM or when stdin closes.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { KubeConfig, KubernetesObjectApi, makeInformer, type Informer, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';

export interface InformerProcessSpec {
  accounts: Array<{ name: string; kubeconfig: string }>;
  kinds: Array<{ apiVersion: string; kind: string; path: string }>;
}

/** Pause before restarting an informer that reported an error (the README's pattern). */
const RESTART_DELAY_MS = 1000;

function write(record: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(record) + '\n');
}

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as InformerProcessSpec;
const informers: Array<Informer<KubernetesObject> & ObjectCache<KubernetesObject>> = [];
let stopping = false;

const cachedObjects = () => informers.reduce((sum, informer) => sum + informer.list().length, 0);

const started = performance.now();
await Promise.all(
  spec.accounts.map(async (account) => {
    const kc = new KubeConfig();
    kc.loadFromFile(account.kubeconfig);
    const api = KubernetesObjectApi.makeApiClient(kc);
    await Promise.all(
      spec.kinds.map(async (k) => {
        const informer = makeInformer(kc, k.path, () => api.list(k.apiVersion, k.kind));
        informer.on('error', (err: unknown) => {
          if (stopping) return;
          write({ type: 'informer-error', account: account.name, kind: k.kind, message: String((err as Error)?.message ?? err) });
          setTimeout(() => void informer.start(), RESTART_DELAY_MS);
        });
        informers.push(informer);
        await informer.start();
      }),
    );
  }),
);
write({ type: 'synced', informers: informers.length, objects: cachedObjects(), ms: Math.round(performance.now() - started) });

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.all(informers.map((informer) => informer.stop()));
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());

const commands = createInterface({ input: process.stdin });
commands.on('close', () => void stop());
commands.on('line', (line) => {
  if (line.trim() === 'stats') write({ type: 'stats', objects: cachedObjects(), memory: process.memoryUsage() });
});
