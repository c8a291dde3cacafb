import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Parses a Helm repository's index.yaml on a worker thread and hands back only what the hub reads of
 * it: each chart's versions and their archive URLs. A large index would otherwise hold the event loop
 * (and every REST request, every agent stream) for as long as the parse takes, and the parse's whole
 * document (descriptions, maintainers, digests, dependencies of every version) is garbage the main heap
 * never sees. The thread's heap is bounded by the index's size; an index that needs more fails alone.
 *
 * js-yaml with its failsafe schema: every scalar stays the string written (a version `1.10` is not the
 * number 1.1), as Clouddriver's Jackson binding reads them into strings; and it parses an index about
 * eight times faster and in a tenth of the memory of the `yaml` package the hub uses for manifests
 * (5 MiB: 0.22 s and 25 MiB against 1.7 s and 210 MiB). Aliases are resolved by reference in js-yaml,
 * so an alias bomb costs nothing to parse; entries shared through aliases are refused, since Helm never
 * writes them and walking them again and again is what a bomb would cost here.
 *
 * The worker's source is JavaScript given as text (as the SQLite checkpoint thread's is): the same in
 * development, where the hub runs TypeScript through tsx, and in dist/.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const jsyaml = require(workerData.module);
function parse() {
  const doc = jsyaml.load(Buffer.from(workerData.bytes).toString('utf8'), { schema: jsyaml.FAILSAFE_SCHEMA });
  const entries = doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? doc.entries : undefined;
  if (entries === undefined || entries === null || entries === '') return { entries: [] };
  if (typeof entries !== 'object' || Array.isArray(entries)) return { error: 'entries is not a map of chart names' };
  const seen = new Set();
  const shared = (value) => {
    if (value === null || typeof value !== 'object') return false;
    if (seen.has(value)) return true;
    seen.add(value);
    return false;
  };
  const charts = [];
  for (const name of Object.keys(entries)) {
    const list = entries[name];
    if (!Array.isArray(list)) return { error: 'entries.' + name + ' is not a list' };
    if (shared(list)) return { error: 'entries.' + name + ' repeats another list through a YAML alias' };
    const versions = [];
    for (const entry of list) {
      if (shared(entry)) return { error: 'entries.' + name + ' repeats an entry through a YAML alias' };
      const e = entry !== null && typeof entry === 'object' && !Array.isArray(entry) ? entry : {};
      if (shared(e.urls)) return { error: 'entries.' + name + ' repeats a list of urls through a YAML alias' };
      versions.push({
        version: typeof e.version === 'string' ? e.version : '',
        urls: Array.isArray(e.urls) ? e.urls.filter((u) => typeof u === 'string') : [],
      });
    }
    charts.push([name, versions]);
  }
  return { entries: charts };
}
let result;
try {
  result = parse();
} catch (err) {
  result = { error: String((err && err.message) || err) };
}
parentPort.postMessage(result);
`;

/** The heap a parse may use: a base, and some per MiB of index (js-yaml needs about 4 to 5 times the text). */
const WORKER_HEAP_BASE_MB = 32;
const WORKER_HEAP_PER_INDEX_MB = 6;
const BYTES_PER_MB = 1024 * 1024;

export interface ParsedIndexEntries {
  entries?: Array<[string, Array<{ version: string; urls: string[] }>]>;
  /** Why the index is not one (YAML error, wrong shape, out of memory, too slow). */
  error?: string;
}

let jsYamlModule: string | undefined;

/** One parse on its own thread, ended after `deadlineMs` if it has not answered. */
export function parseIndexInWorker(bytes: Buffer, deadlineMs: number): Promise<ParsedIndexEntries> {
  jsYamlModule ??= createRequire(import.meta.url).resolve('js-yaml');
  // A copy the worker owns: the answer's buffer may share its memory with other buffers.
  const copy = new Uint8Array(bytes);
  const heapMb = WORKER_HEAP_BASE_MB + WORKER_HEAP_PER_INDEX_MB * Math.ceil(bytes.length / BYTES_PER_MB);
  return new Promise((resolve) => {
    let settled = false;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { module: jsYamlModule, bytes: copy },
      transferList: [copy.buffer],
      resourceLimits: { maxOldGenerationSizeMb: heapMb },
    });
    const settle = (result: ParsedIndexEntries) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
      void worker.terminate();
    };
    const timer = setTimeout(() => settle({ error: `parsing it took longer than ${deadlineMs} ms (artifacts.timeoutMs)` }), deadlineMs);
    worker.on('message', (result: ParsedIndexEntries) => settle(result));
    worker.on('error', (err: Error & { code?: string }) =>
      settle({ error: err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `parsing it needed more than ${heapMb} MiB of memory` : err.message }),
    );
    worker.on('exit', () => settle({ error: 'the parser thread ended without an answer' }));
  });
}
