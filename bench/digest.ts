/**
 * `npm run bench -- digest`: what anti-entropy costs (docs/architecture.md, "Anti-entropy").
 *
 * - Agent: the running digest is updated on every change of a feed's record (one remove and one add per
 *   update); its CPU per object is measured over --objects objects. Taking the digest itself is O(1).
 * - Hub: each comparison reads the feed's (uid, resourceVersion) rows and hashes them
 *   (`SqlStore.feedDigest`). Measured on a store holding --objects objects of one account, both as one
 *   feed and as --feeds feeds of equal size (the per-query overhead), on the chosen engine.
 * - Wire: the bytes one feed's digest adds to a batch (its feed entry and the change), and so per interval
 *   for --feeds feeds.
 *
 * CPU-seconds come from process.cpuUsage (the database server's own CPU is not included for PostgreSQL
 * and MySQL; wall time is printed next to it). Writes bench/results/digest.json and .md.
 */
import { performance } from 'node:perf_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { encodeBatchRequest } from '../src/agent/sync/batch-encoder.ts';
import { silentLogger } from '../src/common/logger.ts';
import { FeedDigestAccumulator } from '../src/protocol/feed-digest.ts';
import { createStore } from '../src/hub/store/open-store.ts';
import type { SqlStore } from '../src/hub/store/sql-store.ts';
import { mysqlServer, postgresServer, type Server } from '../test/support/database-servers.ts';
import { positiveInt } from './support/cli-args.ts';
import { REPO_ROOT } from './support/processes.ts';
import { environment, formatCount, renderMarkdown, renderText, writeResults, type Table } from './support/report.ts';

type Engine = 'sqlite' | 'postgres' | 'mysql';

interface DigestFlags {
  objects: number;
  feeds: number;
  database: Engine;
  repetitions: number;
  out: string;
}

const ACCOUNT = 'bench';
const INSERT_CHUNK = 500;
const MS_PER_SECOND = 1000;
const US_PER_MS = 1000;

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / US_PER_MS;
}

async function measure<T>(body: () => Promise<T> | T): Promise<{ value: T; cpuMs: number; wallMs: number }> {
  const cpu = cpuMs();
  const wall = performance.now();
  const value = await body();
  return { value, cpuMs: cpuMs() - cpu, wallMs: performance.now() - wall };
}

function uid(i: number): string {
  return `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
}

/** Rows straight into the objects table (the ingest path is not what is measured here). */
async function seed(store: SqlStore, objects: number, feeds: number): Promise<void> {
  const perFeed = Math.ceil(objects / feeds);
  for (let start = 0; start < objects; start += INSERT_CHUNK) {
    const rows = [];
    for (let i = start; i < Math.min(objects, start + INSERT_CHUNK); i++) {
      rows.push({
        account: ACCOUNT,
        api_group: 'apps',
        kind: `Kind${Math.floor(i / perFeed)}`,
        namespace: 'ns',
        name: `object-${i}`,
        version: 'v1',
        uid: uid(i),
        resource_version: String(1_000_000 + i),
        body: '{}',
        application: null,
        cluster: null,
        created_at: null,
        epoch: 1,
        updated_at: 0,
      });
    }
    await store.db.insertInto('objects').values(rows).execute();
  }
}

export function registerDigestBenchmark(program: Command): void {
  program
    .command('digest')
    .description("Anti-entropy cost: the agent's running digest per change, the hub's digest query per million objects, wire bytes per interval")
    .option('--objects <n>', "objects in the store and in the agent's digest", positiveInt, 1_000_000)
    .option('--feeds <n>', 'feeds they are spread over (the hub runs one query per feed)', positiveInt, 1_000)
    .addOption(new Option('--database <engine>', "the hub's database").choices(['sqlite', 'postgres', 'mysql']).default('sqlite'))
    .option('--repetitions <n>', 'timed runs of each hub measurement', positiveInt, 3)
    .option('--out <dir>', 'directory for digest.json and digest.md', 'bench/results')
    .action(async (flags: DigestFlags) => {
      await runDigestBenchmark(flags);
    });
}

async function runDigestBenchmark(flags: DigestFlags): Promise<void> {
  // Agent: one update = remove the old version's term, add the new one's.
  const accumulator = new FeedDigestAccumulator();
  for (let i = 0; i < flags.objects; i++) accumulator.add(uid(i), String(1_000_000 + i));
  const agent = await measure(() => {
    for (let i = 0; i < flags.objects; i++) {
      accumulator.remove(uid(i), String(1_000_000 + i));
      accumulator.add(uid(i), String(2_000_000 + i));
    }
  });

  // Wire: a batch with one feed and its digest, against the same batch with only the feed's progress.
  const feed = { group: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments', namespace: '', namespaced: true };
  const withDigest = encodeBatchRequest(1n, [
    { feed, entries: [{ type: 'digest', count: flags.objects, hashHigh: 0xfedcba98, hashLow: 0x89abcdef, resumeFrom: '' }], progress: undefined },
  ]).length;
  const bytesPerFeed = withDigest;

  // Hub.
  let server: Server | undefined;
  let url: string;
  const dir = mkdtempSync(join(tmpdir(), 'scale-agent-digest-'));
  if (flags.database === 'sqlite') url = `sqlite:${join(dir, 'hub.db')}`;
  else {
    server = flags.database === 'postgres' ? await postgresServer() : await mysqlServer();
    url = await server.create();
  }
  const store = await createStore({ url, poolSize: 2 }, silentLogger());
  try {
    await store.migrate();
    const seeded = await measure(() => seed(store, flags.objects, 1));
    console.log(`seeded ${formatCount(flags.objects)} objects in ${(seeded.wallMs / MS_PER_SECOND).toFixed(1)} s`);
    const oneFeed: Array<{ cpuMs: number; wallMs: number }> = [];
    for (let r = 0; r < flags.repetitions; r++) {
      const run = await measure(() => store.feedDigest(ACCOUNT, { group: 'apps', kind: 'Kind0', namespace: '' }));
      if (run.value.count !== flags.objects) throw new Error(`digest counted ${run.value.count} objects, expected ${flags.objects}`);
      oneFeed.push(run);
    }
    await store.db.deleteFrom('objects').execute();
    await seed(store, flags.objects, flags.feeds);
    const manyFeeds: Array<{ cpuMs: number; wallMs: number }> = [];
    for (let r = 0; r < flags.repetitions; r++) {
      manyFeeds.push(
        await measure(async () => {
          for (let f = 0; f < flags.feeds; f++) await store.feedDigest(ACCOUNT, { group: 'apps', kind: `Kind${f}`, namespace: '' });
        }),
      );
    }
    const best = (runs: Array<{ cpuMs: number; wallMs: number }>) => runs.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
    const one = best(oneFeed);
    const many = best(manyFeeds);
    const perMillion = (ms: number) => (ms / MS_PER_SECOND) * (1_000_000 / flags.objects);
    const agentUsPerChange = (agent.cpuMs * US_PER_MS) / flags.objects;
    const table: Table = {
      title: `Anti-entropy cost (${formatCount(flags.objects)} objects, ${flags.database})`,
      header: ['measure', 'CPU s per 1M objects', 'wall s per 1M objects', 'other'],
      rows: [
        [
          'agent: digest upkeep (one change = remove + add)',
          perMillion(agent.cpuMs).toFixed(3),
          perMillion(agent.wallMs).toFixed(3),
          `${agentUsPerChange.toFixed(2)} µs per change`,
        ],
        ['hub: one comparison, one feed of all objects', perMillion(one.cpuMs).toFixed(3), perMillion(one.wallMs).toFixed(3), ''],
        [
          `hub: one comparison of every feed, ${formatCount(flags.feeds)} feeds`,
          perMillion(many.cpuMs).toFixed(3),
          perMillion(many.wallMs).toFixed(3),
          `${(many.wallMs / flags.feeds).toFixed(2)} ms per feed`,
        ],
        [
          'wire: one digest per feed per interval',
          '',
          '',
          `${bytesPerFeed} bytes per feed, ${formatCount(bytesPerFeed * flags.feeds)} bytes per interval for ${formatCount(flags.feeds)} feeds`,
        ],
      ],
      notes: [
        "Hub figures are this process's CPU (query driver, row decoding, hashing); a database server's own CPU is not included. Best of the repetitions.",
        `At the default interval (300 s), comparing every feed of ${formatCount(flags.objects)} objects costs the hub ${((many.cpuMs / MS_PER_SECOND / 300) * 100).toFixed(2)} % of one core.`,
      ],
    };
    console.log(renderText(table));
    const result = {
      flags,
      environment: environment(),
      agent,
      withDigestBytes: withDigest,
      hub: { oneFeed, manyFeeds },
      agentUsPerChange,
      perMillion: {
        agentCpuS: perMillion(agent.cpuMs),
        hubOneFeedCpuS: perMillion(one.cpuMs),
        hubAllFeedsCpuS: perMillion(many.cpuMs),
        hubAllFeedsWallS: perMillion(many.wallMs),
      },
    };
    const written = writeResults(resolve(REPO_ROOT, flags.out), 'digest', result, renderMarkdown(table));
    console.log(`wrote ${written.json} and ${written.markdown}`);
  } finally {
    await store.close();
    if (server) {
      await server.drop(url);
      await server.close();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
